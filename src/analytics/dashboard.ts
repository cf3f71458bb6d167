import { sql } from 'kysely';
import type { Database, Tier } from '../db/index.ts';
import { customerEquity } from './clv/index.ts';
import {
  currentTierShares,
  TIERS,
  type TierOrNone,
  type TierScope,
  type TierShareRow,
  tierShares,
  tierTransitions,
} from './measures/index.ts';
import { atRiskCount, type ParetoReport, paretoOfMeasures } from './reports/index.ts';

/**
 * Everything the dashboard shows, in one call. Revenue and customer counts are read from the orders up to
 * `asOf`; the tiers now and the Pareto curve (lifetime spend) from the last measures refresh; the tiers'
 * trend and transitions from the monthly tier snapshots up to `asOf`; the at-risk count from the orders;
 * customer equity from the last CLV valuation. Each figure comes from the report function that defines it
 * (docs/analytics.md), so the dashboard and the reports agree.
 */
export type DashboardOptions = {
  /** The last day counted (YYYY-MM-DD, UTC); default: the as-of day of the last measures refresh, or today. */
  asOf?: string;
  /**
   * Only these stores: revenue and the Pareto curve count the orders placed there; the customer figures
   * (counts, tiers, trend, transitions, at-risk, equity) count the customers whose home store it is.
   */
  storeIds?: readonly number[];
};

export type TierFigure = Omit<TierShareRow, 'periodEnd'>;
export type TierNow = TierFigure & {
  /** What the tier's customers spent in the last 12 months (exact decimal). */
  revenueLast12Months: string;
};
export type TierMovement = { tier: Tier; customers: number; movedUp: number; fell: number; stayed: number };

export type Dashboard = {
  asOf: string;
  /** When these figures were computed (they are kept for a while: see dashboard()). */
  computedAt: Date;
  /** True when the data has changed since computedAt and newer figures are being computed. */
  stale: boolean;
  storeIds: number[] | null;
  /** The first day of "the last 12 months": the first day of the month 11 months before asOf's. */
  windowStart: string;
  measures: { asOf: string; mode: string; finishedAt: Date } | null;
  customers: {
    /** Customer records (not merged away, not erased). */
    total: number;
    /** Of them, customers who bought in the last 12 months. */
    active: number;
    /** Customers whose first purchase ever falls in asOf's calendar month (up to asOf). */
    newThisMonth: number;
  };
  revenue: {
    /** Order totals in asOf's month, up to asOf (exact decimal). */
    thisMonth: string;
    /** Order totals in the last 12 months (the sum of byMonth). */
    last12Months: string;
    byMonth: { month: string; revenue: string; orders: number; customers: number }[];
  };
  /** Customers ranked by lifetime spend at the last measures refresh: the curve and the top shares. */
  pareto: ParetoReport;
  tiers: {
    /** The tiers of the last measures refresh (revenue = lifetime spend), in tier order. */
    now: TierNow[];
    /** The tier shares at each month end snapshot up to asOf (at most the last 24), oldest first. */
    trend: { periodEnd: string; tiers: TierFigure[] }[];
    /** Between the two latest snapshots up to asOf; null with fewer than two snapshots. */
    transitions: {
      from: string;
      to: string;
      /** Per tier at `from`: how many rose, fell or stayed at their level (new → regular counts as stayed). */
      byTier: TierMovement[];
      movedUp: number;
      fell: number;
      stayed: number;
      /** Customers with a tier at `to` and none at `from` (first purchase in between). */
      joined: number;
      matrix: { from: TierOrNone; to: TierOrNone; customers: number }[];
    } | null;
  };
  /** Regular customers overdue against their own rhythm (the at-risk report's definition), as of asOf. */
  atRisk: { customers: number };
  /** Customer equity: the sum of CLV at the last valuation (the stores' customers' sum when scoped). */
  equity: {
    customers: number;
    equity: string;
    computedAt: Date | null;
    previous: { equity: string; computedAt: Date } | null;
    change: string | null;
  };
};

/** How far a tier stands: a move to a higher level is "moved up"; new and regular stand level. */
const LEVEL: Record<Tier, number> = { loyal: 3, semi_loyal: 2, regular: 1, new: 1, lapsed: 0 };

const TREND_MONTHS = 24;

const dayAfter = (day: string) => {
  const date = new Date(`${day}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() + 1);
  return date.toISOString().slice(0, 10);
};

/** The first day of the month `back` months before the month of `day`. */
const monthStart = (day: string, back = 0) => {
  const [year, month] = day.split('-').map(Number) as [number, number];
  return new Date(Date.UTC(year, month - 1 - back, 1)).toISOString().slice(0, 10);
};

async function lastRefresh(database: Database) {
  const row = await database.db
    .selectFrom('measures_refreshes')
    .select(['as_of', 'mode', 'finished_at'])
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row ? { asOf: String(row.as_of), mode: row.mode, finishedAt: row.finished_at } : null;
}

/** How long a computed dashboard is served again while the data is unchanged. */
export const DASHBOARD_TTL_MS = 5 * 60_000;
/**
 * How old a dashboard may be and still be served once the data has changed, while a new one is computed
 * in the background: in a shop taking orders all day the data changes every few seconds, and a dashboard
 * a minute behind the tills is worth more than one that takes seconds to appear.
 */
export const DASHBOARD_MAX_STALE_MS = 60_000;

type Kept = {
  /** The data version and time the figures were computed at, once they are. */
  done: { version: string; at: number; value: Dashboard } | null;
  /** A computation under way, and the data version it started at. */
  running: { version: string; value: Promise<Dashboard> } | null;
};
const kept = new WeakMap<Database, Map<string, Kept>>();

/**
 * The version of the data the dashboard reads: every statement writing orders, customers, measures,
 * snapshots, lifetime values or refreshes draws a new one (migration 014-analytics-data-version).
 */
async function dataVersion(database: Database): Promise<string> {
  const { rows } = await sql<{ v: string }>`
    select last_value::text || '/' || is_called::text as v from analytics_data_version`.execute(database.db);
  return rows[0]?.v ?? '';
}

/**
 * The dashboard, computed once per day and stores and served again: as is while the data version is
 * unchanged (for at most DASHBOARD_TTL_MS, since the default asOf may be "today"); once the data has
 * changed, still served if at most DASHBOARD_MAX_STALE_MS old (`stale: true`) while a new one is computed
 * in the background; otherwise computed now. `fresh` computes now. One computation per day and stores
 * runs at a time. The kept results live in this server process.
 */
export async function dashboard(
  database: Database,
  options: DashboardOptions & { fresh?: boolean } = {},
): Promise<Dashboard> {
  const key = JSON.stringify([options.asOf ?? null, options.storeIds ? [...options.storeIds].sort() : null]);
  const version = await dataVersion(database);
  const entries = kept.get(database) ?? new Map<string, Kept>();
  kept.set(database, entries);
  const entry = entries.get(key) ?? { done: null, running: null };
  entries.set(key, entry);
  const compute = () => {
    if (entry.running?.version === version) return entry.running.value;
    const value = computeDashboard(database, options).then((result) => {
      if (entry.done === null || entry.done.at < result.computedAt.getTime()) {
        entry.done = { version, at: result.computedAt.getTime(), value: result };
      }
      return result;
    });
    const running = { version, value };
    entry.running = running;
    const settle = () => {
      if (entry.running === running) entry.running = null;
    };
    value.then(settle, settle);
    return value;
  };
  if (options.fresh) return compute();
  const done = entry.done;
  const age = done ? Date.now() - done.at : Number.POSITIVE_INFINITY;
  if (done && done.version === version && age < DASHBOARD_TTL_MS) return done.value;
  if (done && age < DASHBOARD_MAX_STALE_MS) {
    // Served as it was; the next call gets the new figures once they are ready.
    compute().catch(() => {});
    return { ...done.value, stale: true };
  }
  return compute();
}

/** Computes every figure (see Dashboard); `dashboard` serves it again while the data is unchanged. */
export async function computeDashboard(
  database: Database,
  options: DashboardOptions = {},
): Promise<Dashboard> {
  const measures = await lastRefresh(database);
  const asOf = options.asOf ?? measures?.asOf ?? new Date().toISOString().slice(0, 10);
  const storeIds = options.storeIds ? [...options.storeIds] : null;
  const scope: TierScope = storeIds ? { homeStoreIds: storeIds } : {};
  const windowStart = monthStart(asOf, 11);
  const thisMonth = monthStart(asOf);
  const from = sql`${windowStart}::date::timestamp at time zone 'UTC'`;
  const until = sql`${dayAfter(asOf)}::date::timestamp at time zone 'UTC'`;
  const atStores = storeIds ? sql`and o.store_id = any(${storeIds}::bigint[])` : sql``;
  const homeStores = storeIds ? sql`and c.home_store_id = any(${storeIds}::bigint[])` : sql``;

  // PGlite runs one statement at a time anyway; on PostgreSQL these go to separate connections.
  const [customers, byMonth, pareto, now, tierRevenue, trendRows, atRisk, equity] = await Promise.all([
    sql<{ total: number; active: number; new_this_month: number }>`
      with buyers as (
        select o.customer_id, bool_or(o.ordered_at >= ${thisMonth}::date::timestamp at time zone 'UTC') as this_month
        from orders o where o.ordered_at >= ${from} and o.ordered_at < ${until} group by o.customer_id
      )
      select count(*)::int as total,
             count(b.customer_id)::int as active,
             count(*) filter (where b.this_month and not exists (
               select 1 from orders p where p.customer_id = c.id
                 and p.ordered_at < ${thisMonth}::date::timestamp at time zone 'UTC'))::int as new_this_month
      from customers c left join buyers b on b.customer_id = c.id
      where c.merged_into_customer_id is null and c.erased_at is null ${homeStores}`.execute(database.db),
    sql<{ month: string; revenue: string; orders: number; customers: number }>`
      select to_char(o.ordered_at at time zone 'UTC', 'YYYY-MM') as month,
             sum(o.total)::numeric(16, 2)::text as revenue, count(*)::int as orders,
             count(distinct o.customer_id)::int as customers
      from orders o where o.ordered_at >= ${from} and o.ordered_at < ${until} ${atStores}
      group by 1 order by 1`.execute(database.db),
    paretoOfMeasures(database, scope),
    currentTierShares(database, scope),
    sql<{ tier: Tier; revenue: string }>`
      select m.tier, sum(o.total)::numeric(16, 2)::text as revenue
      from orders o join customer_measures m on m.customer_id = o.customer_id
      ${storeIds ? sql`join customers c on c.id = o.customer_id ${homeStores}` : sql``}
      where o.ordered_at >= ${from} and o.ordered_at < ${until} and m.tier is not null
      group by m.tier`.execute(database.db),
    tierShares(database, { ...scope, from: monthStart(asOf, TREND_MONTHS), to: asOf }),
    atRiskCount(database, { asOf, ...scope }),
    storeIds ? scopedEquity(database, storeIds) : customerEquity(database),
  ]);

  const months = Array.from({ length: 12 }, (_, i) => monthStart(asOf, 11 - i).slice(0, 7));
  const found = new Map(byMonth.rows.map((r) => [r.month, r]));
  const revenueByMonth = months.map(
    (month) => found.get(month) ?? { month, revenue: '0.00', orders: 0, customers: 0 },
  );
  const cents = revenueByMonth.reduce((sum, m) => sum + BigInt(m.revenue.replace('.', '')), 0n);

  const trend = groupByPeriod(trendRows).slice(-TREND_MONTHS);
  const periods = trend.map((t) => t.periodEnd);
  const [previous, latest] = periods.slice(-2);
  const transitions =
    previous && latest
      ? summarise(previous, latest, await tierTransitions(database, previous, latest, scope))
      : null;

  const revenueOf = new Map(tierRevenue.rows.map((r) => [r.tier, r.revenue]));
  return {
    asOf,
    computedAt: new Date(),
    stale: false,
    storeIds,
    windowStart,
    measures,
    customers: {
      total: customers.rows[0]?.total ?? 0,
      active: customers.rows[0]?.active ?? 0,
      newThisMonth: customers.rows[0]?.new_this_month ?? 0,
    },
    revenue: {
      thisMonth: revenueByMonth.at(-1)?.revenue ?? '0.00',
      last12Months: formatCents(cents),
      byMonth: revenueByMonth,
    },
    pareto,
    tiers: {
      now: now.map(({ periodEnd: _, ...figure }) => ({
        ...figure,
        revenueLast12Months: revenueOf.get(figure.tier) ?? '0.00',
      })),
      trend,
      transitions,
    },
    atRisk: { customers: atRisk },
    equity,
  };
}

/** Exact cents → "1234.50". */
function formatCents(cents: bigint): string {
  const negative = cents < 0n;
  const digits = (negative ? -cents : cents).toString().padStart(3, '0');
  return `${negative ? '-' : ''}${digits.slice(0, -2)}.${digits.slice(-2)}`;
}

function groupByPeriod(rows: TierShareRow[]): { periodEnd: string; tiers: TierFigure[] }[] {
  const periods = new Map<string, TierFigure[]>();
  for (const { periodEnd, ...figure } of rows) {
    const key = String(periodEnd);
    periods.set(key, [...(periods.get(key) ?? []), figure]);
  }
  return [...periods].map(([periodEnd, tiers]) => ({ periodEnd, tiers }));
}

function summarise(
  from: string,
  to: string,
  matrix: { from: TierOrNone; to: TierOrNone; customers: number }[],
): NonNullable<Dashboard['tiers']['transitions']> {
  const byTier: TierMovement[] = TIERS.map((tier) => ({
    tier,
    customers: 0,
    movedUp: 0,
    fell: 0,
    stayed: 0,
  }));
  let joined = 0;
  for (const cell of matrix) {
    if (cell.from === 'none') {
      if (cell.to !== 'none') joined += cell.customers;
      continue;
    }
    const row = byTier.find((t) => t.tier === cell.from)!;
    row.customers += cell.customers;
    // A customer in the earlier snapshot and not the later one (merged away) has no level to compare.
    if (cell.to === 'none') continue;
    const change = LEVEL[cell.to] - LEVEL[cell.from];
    if (change > 0) row.movedUp += cell.customers;
    else if (change < 0) row.fell += cell.customers;
    else row.stayed += cell.customers;
  }
  const total = (key: 'movedUp' | 'fell' | 'stayed') => byTier.reduce((sum, t) => sum + t[key], 0);
  return {
    from,
    to,
    byTier,
    movedUp: total('movedUp'),
    fell: total('fell'),
    stayed: total('stayed'),
    joined,
    matrix,
  };
}

/** The CLV of the stores' customers summed (the stored equity history is of the whole shop). */
async function scopedEquity(database: Database, storeIds: number[]): Promise<Dashboard['equity']> {
  const { rows } = await sql<{ customers: number; equity: string; computed_at: Date | null }>`
    select count(*)::int as customers, coalesce(sum(v.clv), 0)::numeric(16, 2)::text as equity,
           max(v.computed_at) as computed_at
    from customer_clv v join customers c on c.id = v.customer_id
    where c.merged_into_customer_id is null and c.home_store_id = any(${storeIds}::bigint[])`.execute(
    database.db,
  );
  const row = rows[0];
  return {
    customers: row?.customers ?? 0,
    equity: row?.equity ?? '0.00',
    computedAt: row?.computed_at ?? null,
    previous: null,
    change: null,
  };
}
