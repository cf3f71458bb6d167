import { sql } from 'kysely';
import type { Database } from '../../db/index.ts';

export type TimeUnit = 'days' | 'weeks';

export type SummaryOptions = {
  /** The last day of the calibration period (inclusive), YYYY-MM-DD in the business time zone. */
  calibrationEnd: string;
  /** With a holdout: the last day of the holdout period (inclusive); purchases after calibrationEnd up to it are counted. */
  holdoutEnd?: string;
  unit?: TimeUnit;
  /** The business time zone: purchase days are calendar days there. */
  timeZone?: string;
};

/**
 * Per-customer purchase summary for the CLV models, column-wise (typed arrays for the fitters).
 * One purchase occasion = one calendar day with orders (several orders on one day count once, their
 * values summed), as in the CLV literature. frequency = repeat occasions (occasions − 1); recency =
 * last occasion − first; T (age) = calibration end − first occasion; all in `unit`. meanValue = the mean
 * value of the repeat occasions (0 without any), as Gamma-Gamma expects. Customers whose first
 * purchase is after the calibration end are not included.
 */
export type PurchaseSummary = {
  customerIds: number[];
  frequency: Float64Array;
  recency: Float64Array;
  T: Float64Array;
  meanValue: Float64Array;
  /** Purchase occasions in the holdout period (when one was asked for). */
  holdoutPurchases?: Float64Array;
  unit: TimeUnit;
};

/** Computes the summary where the data lives: one SQL query; one row per customer comes back. */
export async function purchaseSummary(database: Database, options: SummaryOptions): Promise<PurchaseSummary> {
  const unit = options.unit ?? 'weeks';
  const divisor = unit === 'weeks' ? 7 : 1;
  const timeZone = options.timeZone ?? 'UTC';
  const holdoutEnd = options.holdoutEnd ?? options.calibrationEnd;
  // One row: a customer's purchase occasions in the calibration period summarised, plus holdout occasions.
  const result = await sql<{
    customer_id: number;
    occasions: number;
    first_day: number;
    last_day: number;
    end_day: number;
    mean_repeat_value: number | null;
    holdout: number;
  }>`
    with days as (
      select o.customer_id, (o.ordered_at at time zone ${timeZone})::date as day, sum(o.total) as value
      from orders o
      where (o.ordered_at at time zone ${timeZone})::date <= ${holdoutEnd}::date
      group by 1, 2
    ), numbered as (
      select customer_id, day, value, row_number() over (partition by customer_id order by day) as n
      from days where day <= ${options.calibrationEnd}::date
    ), holdout as (
      select customer_id, count(*)::int as occasions from days where day > ${options.calibrationEnd}::date group by 1
    )
    select n.customer_id,
           count(*)::int as occasions,
           (min(n.day) - date '1970-01-01')::int as first_day,
           (max(n.day) - date '1970-01-01')::int as last_day,
           (${options.calibrationEnd}::date - date '1970-01-01')::int as end_day,
           avg(n.value) filter (where n.n > 1)::float8 as mean_repeat_value,
           coalesce(max(h.occasions), 0)::int as holdout
    from numbered n left join holdout h on h.customer_id = n.customer_id
    group by n.customer_id
    order by n.customer_id`.execute(database.db);
  const rows = result.rows;
  const size = rows.length;
  const summary: PurchaseSummary = {
    customerIds: new Array(size),
    frequency: new Float64Array(size),
    recency: new Float64Array(size),
    T: new Float64Array(size),
    meanValue: new Float64Array(size),
    holdoutPurchases: options.holdoutEnd ? new Float64Array(size) : undefined,
    unit,
  };
  rows.forEach((row, i) => {
    summary.customerIds[i] = row.customer_id;
    summary.frequency[i] = row.occasions - 1;
    summary.recency[i] = (row.last_day - row.first_day) / divisor;
    summary.T[i] = (row.end_day - row.first_day) / divisor;
    summary.meanValue[i] = row.mean_repeat_value ?? 0;
    if (summary.holdoutPurchases) summary.holdoutPurchases[i] = row.holdout;
  });
  return summary;
}
