/**
 * The per-customer summary the CLV models take, grouped: customers with identical (x, t_x, T) share one row
 * with a weight, because every model's likelihood depends on a customer only through (x, t_x, T), so a
 * fit costs one evaluation per distinct history instead of per customer (with time in whole days, a million
 * customers collapse to tens of thousands of rows).
 *
 * Notation (Fader, Hardie & Lee 2005, Marketing Science 24(2), §2): x = frequency, the number of REPEAT
 * purchase occasions; t_x = recency, the time of the last purchase since the first (0 when x = 0); T = the
 * time from the first purchase to the end of the calibration period. One time unit throughout (e.g. weeks).
 */
import { KizunaError } from '../../errors.ts';

export type RfmData = {
  frequency: Float64Array;
  recency: Float64Array;
  T: Float64Array;
  /** Number of customers with this (x, t_x, T). */
  weight: Float64Array;
};

/** The per-customer histories predictions are made for (RfmData without the weight). */
export type CustomerHistories = Pick<RfmData, 'frequency' | 'recency' | 'T'>;

/** Input of the spend models: repeat customers only (x > 0), mean value m_x of their x repeat transactions. */
export type SpendData = {
  frequency: Float64Array;
  meanValue: Float64Array;
  weight: Float64Array;
};

function invalid(message: string): KizunaError {
  return new KizunaError('invalid_clv_data', message);
}

/** Throws unless x is a non-negative integer and 0 ≤ t_x ≤ T, t_x = 0 when x = 0, T > 0 and weight > 0. */
export function validateRfm(data: RfmData): void {
  const { frequency, recency, T, weight } = data;
  const n = frequency.length;
  if (recency.length !== n || T.length !== n || weight.length !== n) {
    throw invalid('frequency, recency, T and weight must have the same length');
  }
  for (let i = 0; i < n; i++) {
    const x = frequency[i]!;
    const tx = recency[i]!;
    const t = T[i]!;
    if (!(Number.isInteger(x) && x >= 0)) throw invalid(`row ${i}: frequency ${x} is not a count`);
    if (!(t > 0 && Number.isFinite(t))) throw invalid(`row ${i}: T ${t} must be positive`);
    if (!(tx >= 0 && tx <= t)) throw invalid(`row ${i}: recency ${tx} must lie in [0, T = ${t}]`);
    if (x === 0 && tx !== 0) throw invalid(`row ${i}: recency must be 0 when frequency is 0`);
    if (!(weight[i]! > 0 && Number.isFinite(weight[i]!))) throw invalid(`row ${i}: weight must be positive`);
  }
}

/** Σ weight: the number of customers. */
export function totalWeight(weight: Float64Array): number {
  let s = 0;
  for (let i = 0; i < weight.length; i++) s += weight[i]!;
  return s;
}

/**
 * Groups per-customer (x, t_x, T) into distinct rows with weight = the number of customers, in order of
 * first appearance, and validates them. Exact equality of the numbers: round times (e.g. to days / 7)
 * before calling to get useful grouping.
 */
export function groupRfm(
  frequency: ArrayLike<number>,
  recency: ArrayLike<number>,
  T: ArrayLike<number>,
): RfmData {
  const n = frequency.length;
  if (recency.length !== n || T.length !== n) {
    throw invalid('frequency, recency and T must have the same length');
  }
  // Nested maps keyed by the numbers themselves: 2–3× faster than one map keyed by a built string at a
  // million customers, and exact (SameValueZero) like the string key.
  const index = new Map<number, Map<number, Map<number, number>>>();
  const fx: number[] = [];
  const tx: number[] = [];
  const tt: number[] = [];
  const w: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = frequency[i]!;
    const r = recency[i]!;
    const t = T[i]!;
    let byRecency = index.get(x);
    if (byRecency === undefined) {
      byRecency = new Map();
      index.set(x, byRecency);
    }
    let byT = byRecency.get(r);
    if (byT === undefined) {
      byT = new Map();
      byRecency.set(r, byT);
    }
    const row = byT.get(t);
    if (row === undefined) {
      byT.set(t, fx.length);
      fx.push(x);
      tx.push(r);
      tt.push(t);
      w.push(1);
    } else {
      w[row] = w[row]! + 1;
    }
  }
  const data: RfmData = {
    frequency: Float64Array.from(fx),
    recency: Float64Array.from(tx),
    T: Float64Array.from(tt),
    weight: Float64Array.from(w),
  };
  validateRfm(data);
  return data;
}

/** Groups repeat customers' (x, m_x) the same way; customers with x = 0 must be left out by the caller. */
export function groupSpend(frequency: ArrayLike<number>, meanValue: ArrayLike<number>): SpendData {
  const n = frequency.length;
  if (meanValue.length !== n) throw invalid('frequency and meanValue must have the same length');
  const index = new Map<string, number>();
  const fx: number[] = [];
  const mx: number[] = [];
  const w: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = frequency[i]!;
    const m = meanValue[i]!;
    if (!(Number.isInteger(x) && x > 0)) throw invalid(`row ${i}: frequency ${x} must be a positive count`);
    if (!(m > 0 && Number.isFinite(m))) throw invalid(`row ${i}: mean value ${m} must be positive`);
    const key = `${x}|${m}`;
    const row = index.get(key);
    if (row === undefined) {
      index.set(key, fx.length);
      fx.push(x);
      mx.push(m);
      w.push(1);
    } else {
      w[row] = w[row]! + 1;
    }
  }
  return { frequency: Float64Array.from(fx), meanValue: Float64Array.from(mx), weight: Float64Array.from(w) };
}
