import { sql } from 'kysely';
import type { Database } from '../../db/index.ts';
import { DEFAULT_TIME_ZONE, orderDay } from './shared.ts';

/** The smallest lapse threshold when it comes from the customer's own rhythm. */
export const MIN_LAPSE_DAYS = 90;
/** The lapse threshold of customers with a single purchase day (no rhythm of their own yet). */
export const SINGLE_PURCHASE_LAPSE_DAYS = 365;

export type ChurnOptions = {
  /** The last day with data, YYYY-MM-DD; only calendar months that have ended by then are reported. */
  asOf: string;
  /** A fixed lapse threshold N in days for everyone; without it, each customer's own (see churnReport). */
  days?: number;
  /** How many complete months to report, most recent last (default 12). */
  months?: number;
  timeZone?: string;
};

export type ChurnMonth = {
  /** The calendar month, YYYY-MM. */
  month: string;
  /** Customers active on the first day of the month (not lapsed by then). */
  activeAtStart: number;
  /** Of those, the ones whose lapse day falls within the month. */
  churned: number;
  /** churned / activeAtStart (null when nobody was active). */
  churnRate: number | null;
};

export type ChurnReport = { asOf: string; definition: string; months: ChurnMonth[] };

const DEFINITION =
  'A purchase day p lapses on day p + N when the customer does not buy again up to and including that day. ' +
  'The customer is active on day t while t <= (last purchase before t) + N. churn rate of a month = ' +
  'customers active on its first day whose lapse day falls within the month / customers active on its first day. ' +
  `N is the given days, otherwise per customer as known at the time: max(${MIN_LAPSE_DAYS}, ceil(2 x median days ` +
  'between their consecutive purchase days up to and including their last purchase before the month)), or ' +
  `${SINGLE_PURCHASE_LAPSE_DAYS} while they have bought on one day only. Later purchases never change an ` +
  "earlier month's figures.";

/**
 * Each judged purchase day's lapse threshold N as SQL over the CTEs `points` (customer_id, day: the last
 * purchase day before a reported month) and `seq` (customer_id, day, gap to the previous purchase day).
 * A customer's own N uses only the gaps that had happened by that day — no hindsight: the median of a
 * customer who later slows down does not excuse their earlier lapse.
 */
function thresholdsCte(days: number | undefined) {
  if (days !== undefined) {
    return sql`select customer_id, day, ${Math.round(days)}::int as n from points`;
  }
  // greatest() skips nulls, so customers without a gap yet are caught before it.
  return sql`select p.customer_id, p.day,
      case when count(g.gap) = 0 then ${SINGLE_PURCHASE_LAPSE_DAYS}::int
           else greatest(${MIN_LAPSE_DAYS}::int, ceil(2 * percentile_cont(0.5) within group (order by g.gap))::int)
      end as n
    from points p join seq g on g.customer_id = p.customer_id and g.day <= p.day
    group by p.customer_id, p.day`;
}

/** The churn rate per complete calendar month under the definition above (returned with the report). */
export async function churnReport(database: Database, options: ChurnOptions): Promise<ChurnReport> {
  const timeZone = options.timeZone ?? DEFAULT_TIME_ZONE;
  const months = Math.max(1, Math.round(options.months ?? 12));
  const day = orderDay('o', timeZone);
  // One row: one complete calendar month ending by asOf, with the customers active at its start and
  // those of them who lapsed within it. For each month a customer is joined once, through their last
  // purchase day before the month (day < month start <= next day).
  const result = await sql<{ month: string; active: number; churned: number }>`
    with days as (
      select distinct o.customer_id, ${day} as day from orders o where ${day} <= ${options.asOf}::date
    ), seq as (
      select customer_id, day,
             lead(day) over (partition by customer_id order by day) as next_day,
             day - lag(day) over (partition by customer_id order by day) as gap
      from days
    ), months as (
      select m::date as start, (m + interval '1 month')::date - 1 as finish
      from generate_series(
        date_trunc('month', ${options.asOf}::date + 1) - make_interval(months => ${months}::int),
        date_trunc('month', ${options.asOf}::date + 1) - interval '1 month',
        interval '1 month') as m
    ), judged as (
      -- one row: a month and a customer who had bought before it, through their last purchase day before it
      select m.start, s.customer_id, s.day, s.next_day
      from months m join seq s on s.day < m.start and (s.next_day is null or s.next_day >= m.start)
    ), points as (
      select distinct customer_id, day from judged
    ), thresholds as (${thresholdsCte(options.days)}
    )
    select to_char(m.start, 'YYYY-MM') as month,
           count(j.customer_id) filter (where j.day + t.n >= m.start) as active,
           count(j.customer_id) filter (
             where j.day + t.n between m.start and m.finish
               and (j.next_day is null or j.next_day > j.day + t.n)) as churned
    from months m
    left join judged j on j.start = m.start
    left join thresholds t on t.customer_id = j.customer_id and t.day = j.day
    group by m.start
    order by m.start`.execute(database.db);
  return {
    asOf: options.asOf,
    definition: DEFINITION,
    months: result.rows.map((r) => ({
      month: r.month,
      activeAtStart: r.active,
      churned: r.churned,
      churnRate: r.active > 0 ? r.churned / r.active : null,
    })),
  };
}

export type AtRiskOptions = {
  asOf: string;
  /** How many customers to return (default 50). */
  limit?: number;
  /** "Previously regular": at least this many purchase days (default 3). */
  minPurchaseDays?: number;
  /** "Overdue": days since the last purchase > overdueFactor × their median gap (default 1.5). */
  overdueFactor?: number;
  timeZone?: string;
};

export type AtRiskCustomer = {
  customerId: number;
  externalId: string | null;
  name: string | null;
  purchaseDays: number;
  lastPurchase: string;
  medianGapDays: number;
  daysSinceLastPurchase: number;
  /** daysSinceLastPurchase / medianGapDays. */
  overdueRatio: number;
  /** All order totals up to asOf (exact decimal string). */
  spend: string;
  /** overdueRatio × spend: the order of the list. */
  score: number;
};

/** The customers whose figures are counted: with homeStoreIds, those whose home store is one of them. */
export type AtRiskScope = { homeStoreIds?: readonly number[] };

/**
 * One row per at-risk customer (see atRiskCustomers): customer_id, purchase_days, last_day, spend,
 * median_gap, since — the query both the list and the count read.
 */
function atRiskRows(options: AtRiskOptions & AtRiskScope) {
  const timeZone = options.timeZone ?? DEFAULT_TIME_ZONE;
  const day = orderDay('o', timeZone);
  const minDays = Math.max(2, Math.round(options.minPurchaseDays ?? 3));
  const factor = options.overdueFactor ?? 1.5;
  const scope =
    options.homeStoreIds === undefined
      ? sql``
      : sql`join customers scope_c on scope_c.id = o.customer_id
          and scope_c.home_store_id = any(${[...options.homeStoreIds]}::bigint[])`;
  return sql`
    with days as (
      select o.customer_id, ${day} as day, sum(o.total) as value
      from orders o ${scope} where ${day} <= ${options.asOf}::date group by 1, 2
    ), seq as (
      select customer_id, day, value, day - lag(day) over (partition by customer_id order by day) as gap from days
    ), rhythm as (
      select customer_id, count(*)::int as purchase_days, max(day) as last_day, sum(value) as spend,
             percentile_cont(0.5) within group (order by gap) as median_gap,
             (${options.asOf}::date - max(day))::int as since
      from seq group by customer_id
      having count(*) >= ${minDays}::int
    )
    select * from rhythm r where r.since > ${factor}::float8 * r.median_gap`;
}

/**
 * Regular customers who are now overdue relative to their own rhythm: at least minPurchaseDays purchase
 * days up to asOf and more than overdueFactor × their median gap since the last one; the most overdue
 * and valuable first (overdue ratio × spend).
 */
export async function atRiskCustomers(database: Database, options: AtRiskOptions): Promise<AtRiskCustomer[]> {
  const limit = Math.max(0, Math.round(options.limit ?? 50));
  // One row: one at-risk customer with their rhythm (median gap), how long since they last bought and
  // their spend up to asOf.
  const result = await sql<{
    customer_id: number;
    external_id: string | null;
    name: string | null;
    purchase_days: number;
    last_day: string;
    median_gap: number;
    since: number;
    ratio: number;
    spend: string;
    score: number;
  }>`
    select r.customer_id, c.external_id, c.name, r.purchase_days, r.last_day::text as last_day,
           r.median_gap, r.since, r.since / r.median_gap as ratio, r.spend::text as spend,
           (r.since / r.median_gap) * r.spend::float8 as score
    from (${atRiskRows(options)}) r join customers c on c.id = r.customer_id
    order by score desc, r.customer_id
    limit ${limit}::int`.execute(database.db);
  return result.rows.map((r) => ({
    customerId: r.customer_id,
    externalId: r.external_id,
    name: r.name,
    purchaseDays: r.purchase_days,
    lastPurchase: r.last_day,
    medianGapDays: r.median_gap,
    daysSinceLastPurchase: r.since,
    overdueRatio: r.ratio,
    spend: r.spend,
    score: r.score,
  }));
}

/** How many customers atRiskCustomers would list without a limit (optionally of some home stores only). */
export async function atRiskCount(
  database: Database,
  options: Omit<AtRiskOptions, 'limit'> & AtRiskScope,
): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    select count(*)::int as n from (${atRiskRows(options)}) r`.execute(database.db);
  return rows[0]?.n ?? 0;
}
