/**
 * Discounted customer lifetime value over a finite horizon, combining a purchase-count model (BG/NBD,
 * Pareto/NBD) with a spend model (Gamma-Gamma), exactly as lifetimes' `customer_lifetime_value`
 * (lifetimes/utils.py) does it: month by month,
 *   CLV = Σ_{k=1..months} margin · E[spend] · (E[X(k·u) | history] − E[X((k−1)·u) | history]) / (1+d)^k,
 * with u = the number of the data's time units per month. The increments of the cumulative conditional
 * expectation are the expected purchases IN month k, discounted to today at the end of that month. (Fader,
 * Hardie & Lee 2005, JMR 42(4), discount continuously and over an infinite horizon ("DET"); the finite,
 * monthly sum is kept here because it is what lifetimes and pymc-marketing users compare against.)
 */
import { KizunaError } from '../../errors.ts';
import type { CustomerHistories } from './rfm.ts';

/** E[X(t) | x, t_x, T] for every customer, t in the data's time unit (e.g. `expectedPurchasesVector`). */
export type PurchasePredictor = (t: number, customers: CustomerHistories) => Float64Array;

export type ClvOptions = {
  /** The data's time units per month, e.g. 365.25 / 12 / 7 ≈ 4.348 for weeks, 30.44 for days. */
  unitsPerMonth: number;
  /** Horizon in months. Default 12. */
  months?: number;
  /** Monthly discount rate d. Default 0.01 (lifetimes' default). */
  monthlyDiscountRate?: number;
  /** Profit margin on spend, one for all or one per customer. Default 1 (CLV in revenue). */
  margin?: number | Float64Array;
};

/** The scalar form: E[X(t) | history of customer i] for t in the data's time unit. */
export type ClvInput = {
  expectedPurchases: (t: number, customer: number) => number;
  /** Expected value of each future transaction, per customer, in money. */
  expectedSpend: Float64Array;
  customers: number;
  unitsPerMonth: number;
  horizonMonths?: number;
  monthlyDiscountRate?: number;
  margin?: number | Float64Array;
};

function checkOptions(
  n: number,
  expectedSpend: Float64Array,
  unitsPerMonth: number,
  months: number,
  d: number,
  margin: number | Float64Array,
): void {
  if (!(unitsPerMonth > 0)) throw new KizunaError('invalid_request', 'unitsPerMonth must be positive');
  if (!(Number.isInteger(months) && months >= 0)) {
    throw new KizunaError('invalid_request', 'months must be a non-negative integer');
  }
  if (!(d > -1)) throw new KizunaError('invalid_request', 'monthlyDiscountRate must be > −1');
  if (expectedSpend.length !== n || (typeof margin !== 'number' && margin.length !== n)) {
    throw new KizunaError('invalid_request', 'one expected spend (and margin) per customer is needed');
  }
}

/**
 * CLV per customer from a per-customer expectation (the shape a caller holding other per-customer data
 * finds convenient); the same sum as customerLifetimeValue.
 */
export function customerLifetimeValues(input: ClvInput): Float64Array {
  const n = input.customers;
  const months = input.horizonMonths ?? 12;
  const d = input.monthlyDiscountRate ?? 0.01;
  const margin = input.margin ?? 1;
  checkOptions(n, input.expectedSpend, input.unitsPerMonth, months, d, margin);
  const clv = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const m = typeof margin === 'number' ? margin : margin[i]!;
    let previous = 0;
    let value = 0;
    for (let k = 1; k <= months; k++) {
      const cumulative = input.expectedPurchases(k * input.unitsPerMonth, i);
      value += (cumulative - previous) / (1 + d) ** k;
      previous = cumulative;
    }
    clv[i] = m * input.expectedSpend[i]! * value;
  }
  return clv;
}

/**
 * CLV per customer from a vectorised model (e.g. `(t, c) => expectedPurchasesVector(params, t, c)`).
 * `expectedSpend` is the expected value of each future transaction per customer (e.g. Gamma-Gamma's
 * conditionalExpectedValueVector), in money.
 */
export function customerLifetimeValue(
  predict: PurchasePredictor,
  customers: CustomerHistories,
  expectedSpend: Float64Array,
  options: ClvOptions,
): Float64Array {
  const n = customers.frequency.length;
  const months = options.months ?? 12;
  const d = options.monthlyDiscountRate ?? 0.01;
  const margin = options.margin ?? 1;
  const { unitsPerMonth } = options;
  checkOptions(n, expectedSpend, unitsPerMonth, months, d, margin);
  const clv = new Float64Array(n);
  let previous: Float64Array = new Float64Array(n);
  for (let k = 1; k <= months; k++) {
    const cumulative = predict(k * unitsPerMonth, customers);
    const discount = (1 + d) ** k;
    for (let i = 0; i < n; i++) {
      const m = typeof margin === 'number' ? margin : margin[i]!;
      clv[i] = clv[i]! + (m * expectedSpend[i]! * (cumulative[i]! - previous[i]!)) / discount;
    }
    previous = cumulative;
  }
  return clv;
}

/** Customer equity: Σ CLV, each weighted by the number of customers it stands for (grouped data). */
export function totalCustomerEquity(clv: Float64Array, weight?: Float64Array): number {
  let total = 0;
  for (let i = 0; i < clv.length; i++) total += (weight ? weight[i]! : 1) * clv[i]!;
  return total;
}
