import { sql } from 'kysely';
import type { Database, Tier } from '../../db/index.ts';
import { RFM_GROUPS, type RfmGroup } from './measures-sql.ts';

export const TIERS: readonly Tier[] = ['loyal', 'semi_loyal', 'regular', 'new', 'lapsed'];

export type RfmGroupRow = { group: RfmGroup; customers: number; revenue: string; customerShare: number };
export type RfmCellRow = { cell: string; customers: number; revenue: string };
export type RfmReport = { customers: number; revenue: string; groups: RfmGroupRow[]; cells: RfmCellRow[] };

/**
 * Counts and revenue (total spend as of the last refresh) per named group and per cell, over customers
 * with a purchase. Every group appears, with zeros when empty; cells only when someone is in them.
 */
export async function rfmReport(database: Database): Promise<RfmReport> {
  const groups = await sql<{ group: RfmGroup; customers: number; revenue: string }>`
    select rfm_group as "group", count(*)::int as customers, sum(total_spend)::numeric(16, 2)::text as revenue
    from customer_measures where rfm_group is not null group by rfm_group`.execute(database.db);
  const cells = await sql<RfmCellRow>`
    select rfm_cell as cell, count(*)::int as customers, sum(total_spend)::numeric(16, 2)::text as revenue
    from customer_measures where rfm_cell is not null group by rfm_cell order by rfm_cell desc`.execute(
    database.db,
  );
  const totals = await sql<{ customers: number; revenue: string }>`
    select count(*)::int as customers, coalesce(sum(total_spend), 0)::numeric(16, 2)::text as revenue
    from customer_measures where rfm_cell is not null`.execute(database.db);
  const total = totals.rows[0] ?? { customers: 0, revenue: '0.00' };
  const byGroup = new Map(groups.rows.map((g) => [g.group, g]));
  return {
    customers: total.customers,
    revenue: total.revenue,
    groups: RFM_GROUPS.map((group) => {
      const row = byGroup.get(group);
      const customers = row?.customers ?? 0;
      return {
        group,
        customers,
        revenue: row?.revenue ?? '0.00',
        customerShare: total.customers ? customers / total.customers : 0,
      };
    }),
    cells: cells.rows,
  };
}

export type TierShareRow = {
  periodEnd: string;
  tier: Tier;
  customers: number;
  /** customers / all customers with a purchase by periodEnd. */
  customerShare: number;
  /** Lifetime spend to periodEnd of the tier's customers (exact decimal). */
  revenue: string;
  /** revenue / the lifetime spend of all customers with a purchase by periodEnd. */
  revenueShare: number;
};

/**
 * Which customers a tier figure counts: with homeStoreIds, only those whose home store is one of them
 * (a store's own customers); otherwise everyone.
 */
export type TierScope = { homeStoreIds?: readonly number[] };

/** `join customers …` limiting `alias.customer_id` to the scope's customers (nothing without a scope). */
function scopeJoin(alias: string, scope: TierScope) {
  if (scope.homeStoreIds === undefined) return sql``;
  return sql`join customers scope_c on scope_c.id = ${sql.ref(`${alias}.customer_id`)}
    and scope_c.home_store_id = any(${[...scope.homeStoreIds]}::bigint[])`;
}

export type TierShareOptions = TierScope & {
  /** Only snapshots taken on or after this day (YYYY-MM-DD). */
  from?: string;
  /** Only snapshots taken on or before this day. */
  to?: string;
};

/** Per snapshot and tier: the share of customers and of revenue — the "loyal share over time" series. */
export async function tierShares(
  database: Database,
  options: TierShareOptions = {},
): Promise<TierShareRow[]> {
  const period = [sql`true`];
  if (options.from !== undefined) period.push(sql`s.period_end >= ${options.from}::date`);
  if (options.to !== undefined) period.push(sql`s.period_end <= ${options.to}::date`);
  const { rows } = await sql<{
    period_end: string;
    tier: Tier;
    customers: number;
    revenue: string;
    all_customers: number;
    all_revenue: string;
  }>`
    select period_end, tier, count(*)::int as customers, sum(total_spend)::numeric(16, 2)::text as revenue,
           (sum(count(*)) over (partition by period_end))::int as all_customers,
           (sum(sum(total_spend)) over (partition by period_end))::numeric(16, 2)::text as all_revenue
    from tier_snapshots s ${scopeJoin('s', options)} where ${sql.join(period, sql` and `)}
    group by period_end, tier order by period_end`.execute(database.db);
  return sharesOf(rows);
}

/**
 * The same shares now: from the measures of the last refresh (periodEnd is its as-of day), with the
 * tiers' lifetime spend as revenue.
 */
export async function currentTierShares(database: Database, scope: TierScope = {}): Promise<TierShareRow[]> {
  const { rows } = await sql<{
    period_end: string;
    tier: Tier;
    customers: number;
    revenue: string;
    all_customers: number;
    all_revenue: string;
  }>`
    select as_of::text as period_end, tier, count(*)::int as customers, sum(total_spend)::numeric(16, 2)::text as revenue,
           (sum(count(*)) over (partition by as_of))::int as all_customers,
           (sum(sum(total_spend)) over (partition by as_of))::numeric(16, 2)::text as all_revenue
    from customer_measures s ${scopeJoin('s', scope)} where tier is not null
    group by as_of, tier order by as_of`.execute(database.db);
  return sharesOf(rows);
}

function sharesOf(
  rows: {
    period_end: string;
    tier: Tier;
    customers: number;
    revenue: string;
    all_customers: number;
    all_revenue: string;
  }[],
): TierShareRow[] {
  const result: TierShareRow[] = [];
  const periods = [...new Set(rows.map((r) => r.period_end))];
  for (const periodEnd of periods) {
    const inPeriod = rows.filter((r) => r.period_end === periodEnd);
    const first = inPeriod[0];
    if (!first) continue;
    for (const tier of TIERS) {
      const row = inPeriod.find((r) => r.tier === tier);
      const customers = row?.customers ?? 0;
      const revenue = row?.revenue ?? '0.00';
      // Shares are ratios for charts, not money: a float is fine here, the amounts stay exact.
      const allRevenue = Number(first.all_revenue);
      result.push({
        periodEnd,
        tier,
        customers,
        customerShare: customers / first.all_customers,
        revenue,
        revenueShare: allRevenue ? Number(revenue) / allRevenue : 0,
      });
    }
  }
  return result;
}

export type TierOrNone = Tier | 'none';
export type TierTransition = { from: TierOrNone; to: TierOrNone; customers: number };

/**
 * The transition matrix between two snapshots: how many customers went from each tier to each tier;
 * 'none' stands for a customer absent from one snapshot (no purchase yet, or no snapshot row).
 * Only non-empty pairs are listed, in tier order.
 */
export async function tierTransitions(
  database: Database,
  fromPeriod: string,
  toPeriod: string,
  scope: TierScope = {},
): Promise<TierTransition[]> {
  const { rows } = await sql<TierTransition>`
    select coalesce(a.tier, 'none') as "from", coalesce(b.tier, 'none') as "to", count(*)::int as customers
    from (select s.customer_id, s.tier from tier_snapshots s ${scopeJoin('s', scope)} where s.period_end = ${fromPeriod}::date) a
    full join (select s.customer_id, s.tier from tier_snapshots s ${scopeJoin('s', scope)} where s.period_end = ${toPeriod}::date) b
      on b.customer_id = a.customer_id
    group by 1, 2`.execute(database.db);
  const order: TierOrNone[] = [...TIERS, 'none'];
  return rows.sort(
    (x, y) => order.indexOf(x.from) - order.indexOf(y.from) || order.indexOf(x.to) - order.indexOf(y.to),
  );
}

export type DistributionMeasure = 'total_spend' | 'orders_count' | 'tenure_days';
export type HistogramBin = { label: string; lower: number; upper: number | null; customers: number };
export type TierDistribution = { tier: Tier; measure: DistributionMeasure; bins: HistogramBin[] };

/**
 * Fixed bins, lower bound inclusive, upper bound exclusive (the last is open). Spend in yen; tenure in
 * days since the first purchase.
 */
export const DISTRIBUTION_BINS: Record<DistributionMeasure, readonly number[]> = {
  total_spend: [0, 1_000, 5_000, 10_000, 50_000, 100_000, 500_000],
  orders_count: [1, 2, 3, 4, 6, 10, 20],
  tenure_days: [0, 31, 91, 181, 366, 731, 1096],
};

/** Counts and days are whole numbers, so their bins read inclusively (4–5); money bins read as ranges. */
function binLabel(measure: DistributionMeasure, lower: number, upper: number | undefined): string {
  if (upper === undefined) return `${lower}+`;
  if (measure === 'total_spend') return `${lower}–${upper}`;
  return upper - 1 === lower ? String(lower) : `${lower}–${upper - 1}`;
}

/**
 * Histograms of total spend, order count and tenure per tier, from one snapshot (periodEnd) or, without
 * one, from the current measures. Every bin of every tier appears, empty ones with 0.
 */
export async function tierDistributions(database: Database, periodEnd?: string): Promise<TierDistribution[]> {
  const source = periodEnd
    ? sql`(select tier, total_spend, orders_count, tenure_days from tier_snapshots where period_end = ${periodEnd}::date)`
    : sql`(select tier, total_spend, orders_count, tenure_days from customer_measures where tier is not null)`;
  const result: TierDistribution[] = [];
  for (const measure of Object.keys(DISTRIBUTION_BINS) as DistributionMeasure[]) {
    const bounds = DISTRIBUTION_BINS[measure];
    // The bin is the number of lower bounds the value reaches (1-based; 0 only below the first bound).
    const bin = sql.join(
      bounds.map((b) => sql`(case when ${sql.ref(`s.${measure}`)} >= ${b}::numeric then 1 else 0 end)`),
      sql` + `,
    );
    const { rows } = await sql<{ tier: Tier; bin: number; customers: number }>`
      select s.tier, (${bin})::int as bin, count(*)::int as customers from ${source} s group by 1, 2`.execute(
      database.db,
    );
    for (const tier of TIERS) {
      result.push({
        tier,
        measure,
        bins: bounds.map((lower, i) => ({
          label: binLabel(measure, lower, bounds[i + 1]),
          lower,
          upper: bounds[i + 1] ?? null,
          customers: rows.find((r) => r.tier === tier && r.bin === i + 1)?.customers ?? 0,
        })),
      });
    }
  }
  return result;
}
