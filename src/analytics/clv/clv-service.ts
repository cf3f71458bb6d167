import { sql } from 'kysely';
import { copyText, type Database } from '../../db/index.ts';
import { KizunaError } from '../../errors.ts';
import * as bgnbd from './bgnbd.ts';
import { customerLifetimeValues } from './clv.ts';
import type { FitReport } from './fitter.ts';
import * as gammaGamma from './gamma-gamma.ts';
import * as paretoNbd from './pareto-nbd.ts';
import { groupRfm, groupSpend, type RfmData } from './rfm.ts';
import { type PurchaseSummary, purchaseSummary, type TimeUnit } from './summary.ts';

export type PurchaseModelName = 'bgnbd' | 'pareto_nbd';
type PurchaseParams = bgnbd.BgNbdParams | paretoNbd.ParetoNbdParams;

export type ClvSettings = {
  horizonMonths: number;
  monthlyDiscountRate: number;
  /** Profit as a share of spend; null: from product costs (gross margin of all lines with a cost), else 1. */
  margin: number | null;
};
export const DEFAULT_CLV_SETTINGS: ClvSettings = {
  horizonMonths: 12,
  monthlyDiscountRate: 0.01,
  margin: null,
};

export type FitClvOptions = {
  calibrationEnd: string;
  model?: PurchaseModelName;
  unit?: TimeUnit;
  penalizer?: number;
  timeZone?: string;
};

export type FittedClv = {
  modelId: number;
  model: PurchaseModelName;
  unit: TimeUnit;
  calibrationEnd: string;
  customers: number;
  purchaseParams: Record<string, number>;
  purchaseReport: FitReport;
  purchaseStandardErrors: Record<string, number>;
  spendParams: gammaGamma.GammaGammaParams | null;
  spendReport: FitReport | null;
};

/** Period length in the model's unit for "next year" and for converting months. */
const UNITS_PER_YEAR: Record<TimeUnit, number> = { weeks: 52, days: 365 };

/**
 * The grouped histories the purchase models are fitted on. Customers whose first purchase is on the last
 * day (T = 0) carry no information (their likelihood is 1 whatever the parameters), so they are left out;
 * they are still valued (as new customers) by the predictions.
 */
export function fitData(summary: PurchaseSummary): RfmData {
  const keep = summary.customerIds.map((_, i) => i).filter((i) => summary.T[i]! > 0);
  const pick = (values: Float64Array) => keep.map((i) => values[i]!);
  return groupRfm(pick(summary.frequency), pick(summary.recency), pick(summary.T));
}

function fitPurchaseModel(model: PurchaseModelName, summary: PurchaseSummary, penalizer: number) {
  const data = fitData(summary);
  return model === 'bgnbd'
    ? bgnbd.fitBgNbd(data, { penalizer })
    : paretoNbd.fitParetoNbd(data, { penalizer });
}

function predictor(model: PurchaseModelName, params: PurchaseParams) {
  return model === 'bgnbd'
    ? {
        expected: (t: number, x: number, tx: number, T: number) =>
          bgnbd.expectedPurchases(params as bgnbd.BgNbdParams, t, x, tx, T),
        alive: (x: number, tx: number, T: number) =>
          bgnbd.probabilityAlive(params as bgnbd.BgNbdParams, x, tx, T),
      }
    : {
        expected: (t: number, x: number, tx: number, T: number) =>
          paretoNbd.expectedPurchases(params as paretoNbd.ParetoNbdParams, t, x, tx, T),
        alive: (x: number, tx: number, T: number) =>
          paretoNbd.probabilityAlive(params as paretoNbd.ParetoNbdParams, x, tx, T),
      };
}

/** Gamma-Gamma on the repeat customers with a positive mean spend; null when there are too few. */
function fitSpend(summary: PurchaseSummary, penalizer: number) {
  const x: number[] = [];
  const m: number[] = [];
  summary.frequency.forEach((f, i) => {
    if (f > 0 && summary.meanValue[i]! > 0) {
      x.push(f);
      m.push(summary.meanValue[i]!);
    }
  });
  if (x.length < 10) return null;
  return gammaGamma.fitGammaGamma(groupSpend(x, m), { penalizer });
}

function requireCustomers(summary: PurchaseSummary, calibrationEnd: string) {
  if (summary.customerIds.length < 10) {
    throw new KizunaError(
      'too_little_history',
      `only ${summary.customerIds.length} customers bought by ${calibrationEnd}: a CLV model needs purchase history from many customers`,
    );
  }
}

/** Fits the purchase model and the spend model on all purchases up to `calibrationEnd` and stores them. */
export async function fitClv(database: Database, options: FitClvOptions): Promise<FittedClv> {
  assertDay(options.calibrationEnd, 'calibrationEnd');
  const model = options.model ?? 'bgnbd';
  const unit = options.unit ?? 'weeks';
  const penalizer = options.penalizer ?? 0;
  const summary = await purchaseSummary(database, {
    calibrationEnd: options.calibrationEnd,
    unit,
    timeZone: options.timeZone,
  });
  requireCustomers(summary, options.calibrationEnd);
  const purchase = fitPurchaseModel(model, summary, penalizer);
  const spend = fitSpend(summary, penalizer);
  const row = await database.db
    .insertInto('clv_models')
    .values({
      purchase_model: model,
      time_unit: unit,
      calibration_end: options.calibrationEnd,
      customers: summary.customerIds.length,
      purchase_params: { ...purchase.params },
      purchase_report: { ...purchase.report, standardErrors: { ...purchase.standardErrors } },
      spend_params: spend ? { ...spend.params } : null,
      spend_report: spend ? { ...spend.report, standardErrors: { ...spend.standardErrors } } : null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return {
    modelId: row.id,
    model,
    unit,
    calibrationEnd: options.calibrationEnd,
    customers: summary.customerIds.length,
    purchaseParams: { ...purchase.params },
    purchaseReport: purchase.report,
    purchaseStandardErrors: { ...purchase.standardErrors },
    spendParams: spend?.params ?? null,
    spendReport: spend?.report ?? null,
  };
}

/** The gross margin share over all order lines whose product has a cost; null when none has. */
async function marginFromCosts(database: Database): Promise<number | null> {
  const row = (
    await sql<{ revenue: string | null; cost: string | null }>`
      select sum(l.amount) as revenue, sum(l.quantity * p.unit_cost) as cost
      from order_lines l join products p on p.id = l.product_id where p.unit_cost is not null`.execute(
      database.db,
    )
  ).rows[0];
  const revenue = Number(row?.revenue ?? 0);
  return revenue > 0 ? (revenue - Number(row?.cost ?? 0)) / revenue : null;
}

export type ClvPrediction = { modelId: number; customers: number; equity: number; margin: number };

/**
 * Values every customer with the latest model (as of its calibration end): probability alive, expected
 * purchases in the next year, expected spend per purchase (Gamma-Gamma conditional mean; the population
 * mean for customers without repeat purchases) and discounted CLV. Replaces the stored values in one
 * transaction. Customer equity is the sum.
 */
export async function predictClv(
  database: Database,
  settings: Partial<ClvSettings> = {},
): Promise<ClvPrediction> {
  const { horizonMonths, monthlyDiscountRate } = { ...DEFAULT_CLV_SETTINGS, ...settings };
  const stored = await latestClvModel(database);
  if (!stored)
    throw new KizunaError('no_clv_model', 'no CLV model has been fitted yet: run `kizuna clv fit` first');
  const margin = settings.margin ?? (await marginFromCosts(database)) ?? 1;
  const unit = stored.time_unit;
  const summary = await purchaseSummary(database, { calibrationEnd: stored.calibration_end, unit });
  const params = stored.purchase_params as unknown as PurchaseParams;
  const model = predictor(stored.purchase_model, params);
  const spend = stored.spend_params as unknown as gammaGamma.GammaGammaParams | null;
  const n = summary.customerIds.length;
  const expectedSpend = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const x = summary.frequency[i]!;
    const m = summary.meanValue[i]!;
    expectedSpend[i] = spend
      ? x > 0 && m > 0
        ? gammaGamma.conditionalExpectedValue(spend, x, m)
        : (spend.p * spend.gamma) / (spend.q - 1)
      : m;
  }
  const clv = customerLifetimeValues({
    expectedPurchases: (t, i) => model.expected(t, summary.frequency[i]!, summary.recency[i]!, summary.T[i]!),
    expectedSpend,
    customers: n,
    horizonMonths,
    monthlyDiscountRate,
    margin,
    unitsPerMonth: UNITS_PER_YEAR[unit] / 12,
  });
  const lines: string[] = [];
  let equity = 0;
  for (let i = 0; i < n; i++) {
    const x = summary.frequency[i]!;
    const tx = summary.recency[i]!;
    const T = summary.T[i]!;
    equity += clv[i]!;
    lines.push(
      [
        summary.customerIds[i],
        stored.id,
        x,
        tx,
        T,
        model.alive(x, tx, T),
        model.expected(UNITS_PER_YEAR[unit], x, tx, T),
        expectedSpend[i]!.toFixed(2),
        clv[i]!.toFixed(2),
      ]
        .map(copyText)
        .join('\t'),
    );
  }
  await database.transaction(async (tx) => {
    await tx.db
      .insertInto('clv_equity_history')
      .values({ model_id: stored.id, customers: n, equity: equity.toFixed(2) })
      .execute();
    await sql`delete from customer_clv`.execute(tx.db);
    if (lines.length) {
      await tx.copy(
        'customer_clv',
        [
          'customer_id',
          'model_id',
          'frequency',
          'recency',
          'age',
          'probability_alive',
          'expected_purchases_next_year',
          'expected_spend',
          'clv',
        ],
        `${lines.join('\n')}\n`,
      );
    }
  });
  return { modelId: stored.id, customers: n, equity, margin };
}

export type ClvValidation = {
  model: PurchaseModelName;
  unit: TimeUnit;
  calibrationEnd: string;
  holdoutEnd: string;
  customers: number;
  params: Record<string, number>;
  report: FitReport;
  byFrequency: { label: string; customers: number; actualMean: number; predictedMean: number }[];
  byPeriod: {
    period: number;
    actual: number;
    predicted: number;
    actualCumulative: number;
    predictedCumulative: number;
  }[];
  totals: { actual: number; predicted: number; meanAbsoluteError: number };
};

/** Throws a user error unless `value` is a real calendar date YYYY-MM-DD. */
function assertDay(value: string | undefined, field: string): void {
  if (value === undefined) return;
  const time = Date.parse(`${value}T00:00:00Z`);
  const ok =
    /^\d{4}-\d{2}-\d{2}$/.test(value) &&
    !Number.isNaN(time) &&
    new Date(time).toISOString().startsWith(value);
  if (!ok)
    throw new KizunaError('invalid_request', `${field}: '${value}' is not a date (YYYY-MM-DD)`, { field });
}

const dayNumber = (day: string) => Math.round(Date.parse(`${day}T00:00:00Z`) / 86_400_000);

/**
 * Fits on the calibration period and predicts the holdout: per customer E[X(holdout) | history] against
 * the purchase occasions they really made, averaged per calibration frequency, and the repeat purchases
 * of the whole cohort per period (week or day) of the holdout, predicted vs actual (the literature's
 * tracking plot).
 */
export async function validateClv(
  database: Database,
  options: FitClvOptions & { holdoutEnd?: string },
): Promise<ClvValidation> {
  assertDay(options.calibrationEnd, 'calibrationEnd');
  assertDay(options.holdoutEnd, 'holdoutEnd');
  const model = options.model ?? 'bgnbd';
  const unit = options.unit ?? 'weeks';
  const timeZone = options.timeZone ?? 'UTC';
  const holdoutEnd =
    options.holdoutEnd ??
    (
      await sql<{
        day: string | null;
      }>`select max((ordered_at at time zone ${timeZone})::date)::text as day from orders`.execute(
        database.db,
      )
    ).rows[0]?.day;
  if (!holdoutEnd || holdoutEnd <= options.calibrationEnd) {
    throw new KizunaError(
      'no_holdout',
      `there are no purchases after ${options.calibrationEnd} to validate against`,
      {
        field: 'calibrationEnd',
      },
    );
  }
  const summary = await purchaseSummary(database, {
    calibrationEnd: options.calibrationEnd,
    holdoutEnd,
    unit,
    timeZone,
  });
  requireCustomers(summary, options.calibrationEnd);
  const fit = fitPurchaseModel(model, summary, options.penalizer ?? 0);
  const predict = predictor(model, fit.params);
  const perUnit = unit === 'weeks' ? 7 : 1;
  const holdoutLength = (dayNumber(holdoutEnd) - dayNumber(options.calibrationEnd)) / perUnit;
  const periods = Math.ceil(holdoutLength);

  // Per customer: predicted vs actual over the whole holdout, grouped by calibration frequency (0…6, 7+).
  const buckets = Array.from({ length: 8 }, (_, k) => ({
    label: k === 7 ? '7+' : String(k),
    customers: 0,
    actual: 0,
    predicted: 0,
  }));
  let absoluteError = 0;
  let totalPredicted = 0;
  let totalActual = 0;
  const predictedByPeriod = new Float64Array(periods);
  const n = summary.customerIds.length;
  for (let i = 0; i < n; i++) {
    const x = summary.frequency[i]!;
    const tx = summary.recency[i]!;
    const T = summary.T[i]!;
    const actual = summary.holdoutPurchases![i]!;
    let previous = 0;
    for (let k = 1; k <= periods; k++) {
      const cumulative = predict.expected(Math.min(k, holdoutLength), x, tx, T);
      predictedByPeriod[k - 1]! += cumulative - previous;
      previous = cumulative;
    }
    const bucket = buckets[Math.min(x, 7)]!;
    bucket.customers++;
    bucket.actual += actual;
    bucket.predicted += previous;
    absoluteError += Math.abs(previous - actual);
    totalPredicted += previous;
    totalActual += actual;
  }
  // Actual repeat purchases per holdout period, from the same occasions (one per customer and day).
  const actualRows = await sql<{ period: number; purchases: number }>`
    with days as (
      select distinct o.customer_id, (o.ordered_at at time zone ${timeZone})::date as day
      from orders o
      where (o.ordered_at at time zone ${timeZone})::date > ${options.calibrationEnd}::date
        and (o.ordered_at at time zone ${timeZone})::date <= ${holdoutEnd}::date
        and exists (select 1 from orders f where f.customer_id = o.customer_id
                    and (f.ordered_at at time zone ${timeZone})::date <= ${options.calibrationEnd}::date)
    )
    select ((day - ${options.calibrationEnd}::date - 1) / ${perUnit})::int as period, count(*)::int as purchases
    from days group by 1 order by 1`.execute(database.db);
  const actualByPeriod = new Float64Array(periods);
  for (const row of actualRows.rows) if (row.period < periods) actualByPeriod[row.period] = row.purchases;
  let actualCumulative = 0;
  let predictedCumulative = 0;
  const byPeriod = Array.from({ length: periods }, (_, k) => {
    actualCumulative += actualByPeriod[k]!;
    predictedCumulative += predictedByPeriod[k]!;
    return {
      period: k + 1,
      actual: actualByPeriod[k]!,
      predicted: predictedByPeriod[k]!,
      actualCumulative,
      predictedCumulative,
    };
  });
  return {
    model,
    unit,
    calibrationEnd: options.calibrationEnd,
    holdoutEnd,
    customers: n,
    params: { ...fit.params },
    report: fit.report,
    byFrequency: buckets
      .filter((b) => b.customers > 0)
      .map((b) => ({
        label: b.label,
        customers: b.customers,
        actualMean: b.actual / b.customers,
        predictedMean: b.predicted / b.customers,
      })),
    byPeriod,
    totals: { actual: totalActual, predicted: totalPredicted, meanAbsoluteError: absoluteError / n },
  };
}

/** The stored values of one customer, with the model they came from (null when not valued yet). */
export async function customerClv(database: Database, customerId: number) {
  return (
    (await database.db
      .selectFrom('customer_clv')
      .innerJoin('clv_models', 'clv_models.id', 'customer_clv.model_id')
      .select([
        'customer_clv.probability_alive',
        'customer_clv.expected_purchases_next_year',
        'customer_clv.expected_spend',
        'customer_clv.clv',
        'customer_clv.frequency',
        'customer_clv.recency',
        'customer_clv.age',
        'customer_clv.computed_at',
        'clv_models.id as model_id',
        'clv_models.purchase_model',
        'clv_models.time_unit',
        'clv_models.calibration_end',
      ])
      .where('customer_clv.customer_id', '=', customerId)
      .executeTakeFirst()) ?? null
  );
}

export type CustomerEquity = {
  customers: number;
  equity: string;
  computedAt: Date | null;
  /** The latest valuation at least 28 days older than the current one, for "change since last month". */
  previous: { equity: string; computedAt: Date } | null;
  change: string | null;
};

/** Customer equity now (the latest valuation run) and its change since the run about a month before. */
export async function customerEquity(database: Database): Promise<CustomerEquity> {
  const latest = await database.db
    .selectFrom('clv_equity_history')
    .selectAll()
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (!latest) return { customers: 0, equity: '0.00', computedAt: null, previous: null, change: null };
  const previous = await database.db
    .selectFrom('clv_equity_history')
    .selectAll()
    .where('computed_at', '<=', new Date(latest.computed_at.getTime() - 28 * 86_400_000))
    .orderBy('computed_at', 'desc')
    .limit(1)
    .executeTakeFirst();
  return {
    customers: latest.customers,
    equity: latest.equity,
    computedAt: latest.computed_at,
    previous: previous ? { equity: previous.equity, computedAt: previous.computed_at } : null,
    change: previous ? (Number(latest.equity) - Number(previous.equity)).toFixed(2) : null,
  };
}

/** The latest fitted model as stored, or null. */
export async function latestClvModel(database: Database) {
  return (
    (await database.db
      .selectFrom('clv_models')
      .selectAll()
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst()) ?? null
  );
}
