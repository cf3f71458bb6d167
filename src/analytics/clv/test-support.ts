/**
 * Shared by the CLV tests only (not exported from index.ts): the CDNOW sample reduced to the literature's
 * calibration summary, and simulators of the BG/NBD and Gamma-Gamma generative processes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sharedDataDir } from '../../demo/cdnow.ts';
import { Rng } from '../../demo/index.ts';

export const CDNOW_SAMPLE = join(sharedDataDir(), 'cdnow', 'CDNOW_sample.txt');

export type CdnowSummary = {
  customers: number;
  frequency: Float64Array;
  recency: Float64Array;
  T: Float64Array;
  /** Mean dollar value of the repeat occasions in calibration (0 without any). */
  meanValue: Float64Array;
};

const dayNumber = (yyyymmdd: string): number =>
  Date.UTC(Number(yyyymmdd.slice(0, 4)), Number(yyyymmdd.slice(4, 6)) - 1, Number(yyyymmdd.slice(6, 8))) /
  86_400_000;

/**
 * (x, t_x, T) in weeks and m_x in dollars as in FHL 2005 and the Gamma-Gamma note (README.md there):
 * same-day purchases are one occasion with their values summed; the calibration period ends on
 * `calibrationEnd` inclusive; x = occasions − 1; t_x and T from the first occasion, in days / 7.
 */
export function loadCdnowSummary(path = CDNOW_SAMPLE, calibrationEnd = '19970930'): CdnowSummary {
  const end = dayNumber(calibrationEnd);
  const byCustomer = new Map<string, Map<number, number>>();
  for (const line of readFileSync(path, 'utf8').split(/\r?\n/)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 5) continue;
    const [, customer, date, , dollars] = fields as [string, string, string, string, string];
    let days = byCustomer.get(customer);
    if (days === undefined) {
      days = new Map();
      byCustomer.set(customer, days);
    }
    const day = dayNumber(date);
    days.set(day, (days.get(day) ?? 0) + Number(dollars));
  }
  const n = byCustomer.size;
  const out: CdnowSummary = {
    customers: n,
    frequency: new Float64Array(n),
    recency: new Float64Array(n),
    T: new Float64Array(n),
    meanValue: new Float64Array(n),
  };
  let i = 0;
  for (const days of byCustomer.values()) {
    const occasions = [...days.entries()].filter(([day]) => day <= end).sort((p, q) => p[0] - q[0]);
    const first = occasions[0]![0];
    const last = occasions[occasions.length - 1]![0];
    out.frequency[i] = occasions.length - 1;
    out.recency[i] = (last - first) / 7;
    out.T[i] = (end - first) / 7;
    let repeatValue = 0;
    for (const [, value] of occasions.slice(1)) repeatValue += value;
    out.meanValue[i] = occasions.length > 1 ? repeatValue / (occasions.length - 1) : 0;
    i++;
  }
  return out;
}

export type SimulatedCustomers = {
  frequency: Float64Array;
  recency: Float64Array;
  T: Float64Array;
  /** Latent per-customer truth, for Monte-Carlo checks. */
  lambda: Float64Array;
  p: Float64Array;
};

/**
 * BG/NBD generative process (FHL 2005 §3): λ ~ Gamma(r, rate α), p ~ Beta(a, b); first purchase at 0;
 * exponential(λ) gaps; after each REPEAT purchase the customer drops out with probability p; observed up to
 * T ~ Uniform[tMin, tMax]. With `roundToDays`, times are rounded to the NEAREST whole day (/7), as day-stamped
 * data are; rounding down instead shortens every T by half a day on average, which at a million customers
 * biases α̂ by ≈ 1 % (≈ 4 standard errors) — real data whose T counts whole days from the first purchase
 * day have the same half-day bias.
 */
export function simulateBgNbd(
  n: number,
  params: { r: number; alpha: number; a: number; b: number },
  seed: number,
  options: { tMin?: number; tMax?: number; roundToDays?: boolean } = {},
): SimulatedCustomers {
  const tMin = options.tMin ?? 26;
  const tMax = options.tMax ?? 78;
  const rng = new Rng(seed, 0xb6);
  const out: SimulatedCustomers = {
    frequency: new Float64Array(n),
    recency: new Float64Array(n),
    T: new Float64Array(n),
    lambda: new Float64Array(n),
    p: new Float64Array(n),
  };
  const round = (t: number): number => (options.roundToDays ? Math.round(t * 7) / 7 : t);
  for (let i = 0; i < n; i++) {
    const lambda = rng.gamma(params.r, params.alpha);
    const p = rng.beta(params.a, params.b);
    const T = round(rng.uniform(tMin, tMax));
    const { x, tx } = simulateHistory(rng, lambda, p, T);
    out.frequency[i] = x;
    out.recency[i] = x === 0 ? 0 : Math.min(round(tx), T);
    out.T[i] = T;
    out.lambda[i] = lambda;
    out.p[i] = p;
  }
  return out;
}

/** Repeat purchases in (0, horizon] of one alive customer with rate λ and dropout probability p. */
export function simulateHistory(
  rng: Rng,
  lambda: number,
  p: number,
  horizon: number,
): { x: number; tx: number } {
  let t = 0;
  let x = 0;
  let tx = 0;
  for (;;) {
    t += rng.exponential(lambda);
    if (t > horizon) return { x, tx };
    x++;
    tx = t;
    if (rng.chance(p)) return { x, tx };
  }
}

/**
 * Gamma-Gamma (Fader, Hardie & Lee 2005, JMR 42(4), §4): ν ~ Gamma(q, rate γ) per customer, each of the
 * x transactions z ~ Gamma(p, rate ν); returns the mean value m_x of each customer's x transactions.
 */
export function simulateGammaGamma(
  frequency: Float64Array,
  params: { p: number; q: number; gamma: number },
  seed: number,
): Float64Array {
  const rng = new Rng(seed, 0x66);
  return frequency.map((x) => {
    const nu = rng.gamma(params.q, params.gamma);
    let sum = 0;
    for (let k = 0; k < x; k++) sum += rng.gamma(params.p, nu);
    return x > 0 ? sum / x : 0;
  });
}

/**
 * ln Γ(x), x > 0, independent of the library under test: Stirling's series with terms to z^−7 after
 * shifting the argument to z ≥ 15 by Γ(x) = Γ(x+k) / (x (x+1) … (x+k−1)); truncation error < 1e-16.
 */
export function lnGammaStirling(x: number): number {
  let shift = 0;
  let z = x;
  while (z < 15) {
    shift += Math.log(z);
    z += 1;
  }
  const z2 = 1 / (z * z);
  const series = (1 / z) * (1 / 12 - z2 * (1 / 360 - z2 * (1 / 1260 - z2 * (1 / 1680))));
  return (z - 0.5) * Math.log(z) - z + 0.5 * Math.log(2 * Math.PI) + series - shift;
}

/** ln B(u, v) = ln Γ(u) + ln Γ(v) − ln Γ(u+v), from lnGammaStirling. */
export function lnBetaStirling(u: number, v: number): number {
  return lnGammaStirling(u) + lnGammaStirling(v) - lnGammaStirling(u + v);
}
