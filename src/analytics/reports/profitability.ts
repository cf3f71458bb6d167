import { sql } from 'kysely';
import type { Database } from '../../db/index.ts';

export type ProfitabilityOptions = {
  /** Cost of one hour of staff time spent on a customer's interactions, in yen (default 3000). */
  hourlyRate?: number;
  /** How many customers to list (default 100). */
  limit?: number;
  /** The list's order: most profitable first (default) or least profitable first. */
  order?: 'most_profitable' | 'least_profitable';
};

/** Money amounts as exact decimal strings. */
export type ProfitFigures = {
  revenue: string;
  productCost: string;
  returns: string;
  touchCost: string;
  serviceCost: string;
  profit: string;
};

export type CustomerProfit = ProfitFigures & {
  customerId: number;
  externalId: string | null;
  name: string | null;
  /** Order lines whose product has no unit cost (their cost is counted as 0). */
  linesWithoutCost: number;
  serviceSeconds: number;
};

export type TierProfit = ProfitFigures & { tier: string | null; customers: number };

export type ProfitabilityReport = {
  hourlyRate: number;
  customers: number;
  totals: ProfitFigures;
  list: CustomerProfit[];
  /** Per tier of customer_measures; present only when that table exists. */
  byTier?: TierProfit[];
};

/**
 * Per-customer profit after the cost of serving them, over the customer's whole history, with one row
 * per customer (all customers, also those without orders): revenue (order totals) − product cost
 * (quantity × unit_cost where the product has one) − returns (refunded amounts) − touches (the cost
 * column of the touch log) − service (interaction seconds / 3600 × hourlyRate, rounded to the yen-cent
 * per customer so that the totals are exactly the sums of the rows).
 */
function perCustomer(hourlyRate: number) {
  return sql`
    per_customer as (
      select c.id as customer_id, c.external_id, c.name,
             coalesce(o.revenue, 0.00) as revenue,
             coalesce(l.cost, 0.00) as product_cost,
             coalesce(l.without_cost, 0) as lines_without_cost,
             coalesce(r.amount, 0.00) as returns,
             coalesce(t.cost, 0.00) as touch_cost,
             coalesce(i.seconds, 0) as service_seconds,
             round(coalesce(i.seconds, 0)::numeric * ${String(hourlyRate)}::numeric / 3600, 2) as service_cost
      from customers c
      left join (select customer_id, sum(total) as revenue from orders group by customer_id) o
        on o.customer_id = c.id
      left join (select l.customer_id, sum(l.quantity * p.unit_cost) as cost,
                        count(*) filter (where p.unit_cost is null) as without_cost
                 from order_lines l join products p on p.id = l.product_id group by l.customer_id) l
        on l.customer_id = c.id
      left join (select customer_id, sum(amount) as amount from returns group by customer_id) r
        on r.customer_id = c.id
      left join (select customer_id, sum(cost) as cost from touches group by customer_id) t
        on t.customer_id = c.id
      left join (select customer_id, sum(duration_seconds) as seconds from interactions group by customer_id) i
        on i.customer_id = c.id
    ), profits as (
      select *, revenue - product_cost - returns - touch_cost - service_cost as profit from per_customer
    )`;
}

const figures = sql`sum(revenue)::text as revenue, sum(product_cost)::text as product_cost,
  sum(returns)::text as returns, sum(touch_cost)::text as touch_cost, sum(service_cost)::text as service_cost,
  sum(profit)::text as profit`;

type FigureRow = {
  revenue: string | null;
  product_cost: string | null;
  returns: string | null;
  touch_cost: string | null;
  service_cost: string | null;
  profit: string | null;
};

function toFigures(r: FigureRow): ProfitFigures {
  return {
    revenue: r.revenue ?? '0',
    productCost: r.product_cost ?? '0',
    returns: r.returns ?? '0',
    touchCost: r.touch_cost ?? '0',
    serviceCost: r.service_cost ?? '0',
    profit: r.profit ?? '0',
  };
}

/** Customer profitability and cost to serve: totals, a list, and (when tiers exist) a per-tier breakdown. */
export async function profitability(
  database: Database,
  options: ProfitabilityOptions = {},
): Promise<ProfitabilityReport> {
  const hourlyRate = options.hourlyRate ?? 3000;
  const limit = Math.max(0, Math.round(options.limit ?? 100));
  const direction = options.order === 'least_profitable' ? sql`asc` : sql`desc`;
  const cte = perCustomer(hourlyRate);
  // One row: the whole customer base's totals.
  const totals = await sql<FigureRow & { customers: number }>`
    with ${cte} select count(*) as customers, ${figures} from profits`.execute(database.db);
  // One row: one customer's profit and its parts (the top or bottom `limit` by profit).
  const list = await sql<
    {
      customer_id: number;
      external_id: string | null;
      name: string | null;
      lines_without_cost: number;
      service_seconds: number;
    } & FigureRow
  >`
    with ${cte}
    select customer_id, external_id, name, lines_without_cost, service_seconds::int8 as service_seconds,
           revenue::text as revenue, product_cost::text as product_cost, returns::text as returns,
           touch_cost::text as touch_cost, service_cost::text as service_cost, profit::text as profit
    from profits order by profits.profit ${direction}, profits.customer_id limit ${limit}::int`.execute(
    database.db,
  );
  const report: ProfitabilityReport = {
    hourlyRate,
    customers: totals.rows[0]?.customers ?? 0,
    totals: toFigures(totals.rows[0] ?? emptyFigures()),
    list: list.rows.map((r) => ({
      customerId: r.customer_id,
      externalId: r.external_id,
      name: r.name,
      linesWithoutCost: r.lines_without_cost,
      serviceSeconds: r.service_seconds,
      ...toFigures(r),
    })),
  };
  // The tiers come from another part of the analytics (customer_measures); without that table there is
  // nothing to break down by, and the report must still work on a database that never refreshed it.
  const present = await sql<{ present: boolean }>`
    select to_regclass('public.customer_measures') is not null as present`.execute(database.db);
  if (present.rows[0]?.present) {
    // One row: one tier (null: customers without a tier or without measures) with its customers' totals.
    const tiers = await sql<FigureRow & { tier: string | null; customers: number }>`
      with ${cte}
      select m.tier, count(*) as customers, ${figures}
      from profits p left join customer_measures m on m.customer_id = p.customer_id
      group by m.tier order by m.tier nulls last`.execute(database.db);
    report.byTier = tiers.rows.map((r) => ({ tier: r.tier, customers: r.customers, ...toFigures(r) }));
  }
  return report;
}

function emptyFigures(): FigureRow {
  return {
    revenue: null,
    product_cost: null,
    returns: null,
    touch_cost: null,
    service_cost: null,
    profit: null,
  };
}
