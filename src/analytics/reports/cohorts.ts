import { sql } from 'kysely';
import type { Database } from '../../db/index.ts';
import { DEFAULT_TIME_ZONE, orderDay } from './shared.ts';

export type CohortOptions = {
  /** How many months after the acquisition month to show (month 0 … months; default 12). */
  months?: number;
  /** The last day with data to count (default: the day of the latest order). Months after it are not shown. */
  asOf?: string;
  timeZone?: string;
};

export type CohortMonth = {
  /** Months since acquisition: 0 is the month of the first purchase. */
  month: number;
  /** Customers of the cohort with at least one order in that month. */
  active: number;
  /** active / cohort size. */
  retention: number;
  /** Sum of the order totals of the cohort in that month (exact decimal string). */
  revenue: string;
};

export type Cohort = { cohort: string; customers: number; months: CohortMonth[] };

export type CohortReport = { asOf: string | null; cohorts: Cohort[] };

/**
 * Acquisition cohorts: customers grouped by the calendar month of their first order; for each month
 * since then (until the month of asOf), how many of them ordered and what they spent.
 */
export async function cohortReport(database: Database, options: CohortOptions = {}): Promise<CohortReport> {
  const timeZone = options.timeZone ?? DEFAULT_TIME_ZONE;
  const months = Math.max(0, Math.round(options.months ?? 12));
  const day = orderDay('o', timeZone);
  const asOf = options.asOf ?? null;
  // One row: one cohort (acquisition month) × one month since acquisition that has begun by asOf, with
  // the cohort's size, its customers active in that month and their revenue (zeros when none ordered).
  const result = await sql<{
    cohort: string;
    size: number;
    month: number;
    active: number;
    revenue: string;
    as_of: string | null;
  }>`
    with bound as (
      select coalesce(${asOf}::date, (select max(${day}) from orders o)) as as_of
    ), o as (
      select o.customer_id, date_trunc('month', ${day})::date as month, o.total
      from orders o cross join bound b where ${day} <= b.as_of
    ), firsts as (
      select customer_id, min(month) as cohort from o group by customer_id
    ), sizes as (
      select cohort, count(*) as size from firsts group by cohort
    ), activity as (
      select f.cohort,
             ((extract(year from o.month) - extract(year from f.cohort)) * 12
               + extract(month from o.month) - extract(month from f.cohort))::int as month,
             count(distinct o.customer_id) as active,
             sum(o.total) as revenue
      from o join firsts f on f.customer_id = o.customer_id
      group by 1, 2
    )
    select to_char(s.cohort, 'YYYY-MM') as cohort, s.size, m.month,
           coalesce(a.active, 0) as active, coalesce(a.revenue, 0.00)::text as revenue, b.as_of::text as as_of
    from sizes s
    cross join bound b
    cross join generate_series(0, ${months}::int) as m(month)
    left join activity a on a.cohort = s.cohort and a.month = m.month
    where (s.cohort + make_interval(months => m.month))::date <= b.as_of
    order by s.cohort, m.month`.execute(database.db);
  const cohorts: Cohort[] = [];
  for (const row of result.rows) {
    let current = cohorts[cohorts.length - 1];
    if (!current || current.cohort !== row.cohort) {
      current = { cohort: row.cohort, customers: row.size, months: [] };
      cohorts.push(current);
    }
    current.months.push({
      month: row.month,
      active: row.active,
      retention: row.active / row.size,
      revenue: row.revenue,
    });
  }
  return { asOf: result.rows[0]?.as_of ?? asOf, cohorts };
}
