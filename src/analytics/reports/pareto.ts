import { type RawBuilder, sql } from 'kysely';
import type { Database } from '../../db/index.ts';
import { DEFAULT_TIME_ZONE, orderDay, type Share } from './shared.ts';

export type ParetoOptions = {
  /** First day of the period (inclusive), YYYY-MM-DD in the business time zone. */
  from?: string;
  /** Last day of the period (inclusive). */
  to?: string;
  /** Only orders placed at this store. */
  storeId?: number;
  /** Only orders placed at one of these stores. */
  storeIds?: readonly number[];
  /** About how many points of the curve to return (default 100). */
  points?: number;
  timeZone?: string;
};

export type ParetoPoint = { customerShare: number; revenueShare: number };

export type ParetoReport = {
  /** Customers with at least one order in scope. */
  customers: number;
  /** Sum of their order totals (exact decimal string). */
  revenue: string;
  /** The curve from (0, 0) to (1, 1): customers sorted by spend, largest first. */
  curve: ParetoPoint[];
  /** Share of revenue from the top 1 / 5 / 10 / 20 % of customers (top x % = the first ceil(x % × n)). */
  topShares: { top1: Share; top5: Share; top10: Share; top20: Share };
  /** The smallest share of customers whose spend reaches 80 % of revenue. */
  customersFor80PercentOfRevenue: Share;
};

/**
 * The Pareto (cumulative revenue) curve of customers in one scope: the whole shop, one store and/or one
 * period. A customer's spend is the sum of the totals of their orders in scope; returns are not deducted.
 */
export async function paretoReport(database: Database, options: ParetoOptions = {}): Promise<ParetoReport> {
  const timeZone = options.timeZone ?? DEFAULT_TIME_ZONE;
  const day = orderDay('o', timeZone);
  const conditions = [sql<boolean>`true`];
  if (options.from !== undefined) conditions.push(sql<boolean>`${day} >= ${options.from}::date`);
  if (options.to !== undefined) conditions.push(sql<boolean>`${day} <= ${options.to}::date`);
  if (options.storeId !== undefined) conditions.push(sql<boolean>`o.store_id = ${options.storeId}`);
  if (options.storeIds !== undefined) {
    conditions.push(sql<boolean>`o.store_id = any(${[...options.storeIds]}::bigint[])`);
  }
  const where = sql.join(conditions, sql` and `);
  return paretoOf(
    database,
    sql`select o.customer_id, sum(o.total) as spend from orders o where ${where} group by o.customer_id`,
    options.points,
  );
}

/**
 * The same curve over every customer's lifetime spend as the last measures refresh stored it
 * (customer_measures.total_spend: their order totals up to its as-of day, returns not deducted — what
 * paretoReport with `to` = that day counts), optionally only of customers whose home store is one of
 * homeStoreIds. One pass over one row per customer instead of the orders: what the dashboard shows.
 */
export async function paretoOfMeasures(
  database: Database,
  options: { homeStoreIds?: readonly number[]; points?: number } = {},
): Promise<ParetoReport> {
  const scope =
    options.homeStoreIds === undefined
      ? sql``
      : sql`join customers c on c.id = m.customer_id and c.home_store_id = any(${[...options.homeStoreIds]}::bigint[])`;
  return paretoOf(
    database,
    sql`select m.customer_id, m.total_spend as spend from customer_measures m ${scope} where m.orders_count > 0`,
    options.points,
  );
}

/** The curve and its figures from a relation of (customer_id, spend), one row per customer in scope. */
async function paretoOf(
  database: Database,
  spendOf: RawBuilder<unknown>,
  pointsOption: number | undefined,
): Promise<ParetoReport> {
  const points = Math.max(1, Math.round(pointsOption ?? 100));
  // One row: one customer in scope, ranked by spend (ties by id), with the running total of spend up to
  // them; only the ranks where the curve crosses a 1/points step of the customer share are kept, plus
  // the summary figures (repeated on every row) from window aggregates over all ranked customers.
  const result = await sql<{
    rank: number;
    n: number;
    cum: string;
    total: string;
    customer_share: number;
    revenue_share: number | null;
    top1: number | null;
    top5: number | null;
    top10: number | null;
    top20: number | null;
    for80: number | null;
  }>`
    with spend as (${spendOf}), ranked as (
      select row_number() over w as rank,
             count(*) over () as n,
             sum(spend) over w as cum,
             sum(spend) over () as total
      from spend
      window w as (order by spend desc, customer_id rows between unbounded preceding and current row)
    ), summary as (
      select max(cum) filter (where rank <= greatest(1, (n * 1 + 99) / 100)) as c1,
             max(cum) filter (where rank <= greatest(1, (n * 5 + 99) / 100)) as c5,
             max(cum) filter (where rank <= greatest(1, (n * 10 + 99) / 100)) as c10,
             max(cum) filter (where rank <= greatest(1, (n * 20 + 99) / 100)) as c20,
             min(rank) filter (where cum >= 0.8 * total) as r80
      from ranked
    )
    select r.rank, r.n, r.cum::text as cum, r.total::text as total,
           (r.rank::numeric / r.n)::float8 as customer_share,
           (r.cum / nullif(r.total, 0))::float8 as revenue_share,
           (s.c1 / nullif(r.total, 0))::float8 as top1,
           (s.c5 / nullif(r.total, 0))::float8 as top5,
           (s.c10 / nullif(r.total, 0))::float8 as top10,
           (s.c20 / nullif(r.total, 0))::float8 as top20,
           (s.r80::numeric / r.n)::float8 as for80
    from ranked r cross join summary s
    where (r.rank * ${points}) / r.n > ((r.rank - 1) * ${points}) / r.n
    order by r.rank`.execute(database.db);
  const rows = result.rows;
  const first = rows[0];
  if (!first) {
    return {
      customers: 0,
      revenue: '0',
      curve: [],
      topShares: { top1: null, top5: null, top10: null, top20: null },
      customersFor80PercentOfRevenue: null,
    };
  }
  const positive = Number(first.total) !== 0;
  return {
    customers: first.n,
    revenue: first.total,
    curve: positive
      ? [
          { customerShare: 0, revenueShare: 0 },
          ...rows.map((r) => ({ customerShare: r.customer_share, revenueShare: r.revenue_share ?? 0 })),
        ]
      : [],
    topShares: { top1: first.top1, top5: first.top5, top10: first.top10, top20: first.top20 },
    customersFor80PercentOfRevenue: positive ? first.for80 : null,
  };
}
