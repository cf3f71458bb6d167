import { describe, expect, it } from 'vitest';
import { bgnbdExpectedPurchases, hyp2f1Series, Rng } from '../../demo/index.ts';
import {
  type BgNbdParams,
  expectedPurchases,
  expectedPurchasesNew,
  expectedPurchasesNewVector,
  expectedPurchasesVector,
  fitBgNbd,
  logLikelihood,
  logLikelihoodCustomer,
  logLikelihoodGradient,
  probabilityAlive,
  probabilityAliveVector,
} from './bgnbd.ts';
import { numericalGradient } from './fitter.ts';
import { groupRfm, type RfmData } from './rfm.ts';
import {
  lnBetaStirling,
  lnGammaStirling,
  loadCdnowSummary,
  simulateBgNbd,
  simulateHistory,
} from './test-support.ts';

/** FHL 2005, Table 1 / §4: the CDNOW estimates. */
const PUBLISHED: BgNbdParams = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };
/** lifetimes' BetaGeoFitter on the same data (its README and tests). */
const LIFETIMES: BgNbdParams = { r: 0.2426, alpha: 4.4136, a: 0.7929, b: 2.4259 };

/** Eq. (6) of FHL 2005 written out as the paper prints it, without logs of sums, from an independent lnΓ. */
function independentLogLikelihood(params: BgNbdParams, x: number, tx: number, T: number): number {
  const { r, alpha, a, b } = params;
  const gammaPart = Math.exp(lnGammaStirling(r + x) - lnGammaStirling(r)) * alpha ** r;
  const first =
    Math.exp(lnBetaStirling(a, b + x) - lnBetaStirling(a, b)) * gammaPart * (1 / (alpha + T)) ** (r + x);
  const second =
    x > 0
      ? Math.exp(lnBetaStirling(a + 1, b + x - 1) - lnBetaStirling(a, b)) *
        gammaPart *
        (1 / (alpha + tx)) ** (r + x)
      : 0;
  return Math.log(first + second);
}

const HAND_PICKED: [number, number, number][] = [
  [0, 0, 38.86],
  [2, 30.43, 38.86],
  [7, 29.86, 35.29],
];

describe('BG/NBD log-likelihood (FHL 2005 eq. 6)', () => {
  it('matches the formula written out term by term for three customers, to 1e-9', () => {
    for (const params of [PUBLISHED, { r: 1.7, alpha: 0.6, a: 2.2, b: 0.4 }]) {
      for (const [x, tx, T] of HAND_PICKED) {
        expect(
          Math.abs(logLikelihoodCustomer(params, x, tx, T) - independentLogLikelihood(params, x, tx, T)),
        ).toBeLessThan(1e-9);
      }
      const data: RfmData = {
        frequency: Float64Array.of(0, 2, 7),
        recency: Float64Array.of(0, 30.43, 29.86),
        T: Float64Array.of(38.86, 38.86, 35.29),
        weight: Float64Array.of(3, 1, 2),
      };
      const weighted =
        3 * independentLogLikelihood(params, 0, 0, 38.86) +
        independentLogLikelihood(params, 2, 30.43, 38.86) +
        2 * independentLogLikelihood(params, 7, 29.86, 35.29);
      expect(Math.abs(logLikelihood(params, data) - weighted)).toBeLessThan(1e-9);
    }
  });

  it('stays finite for very frequent customers where the terms underflow', () => {
    const ll = logLikelihoodCustomer(PUBLISHED, 400, 50, 52);
    expect(Number.isFinite(ll)).toBe(true);
  });

  it('analytic gradient equals the central-difference gradient', () => {
    const data: RfmData = {
      frequency: Float64Array.of(0, 1, 2, 7, 30),
      recency: Float64Array.of(0, 3.5, 30.43, 29.86, 20),
      T: Float64Array.of(38.86, 10, 38.86, 35.29, 52),
      weight: Float64Array.of(3, 1, 1, 2, 1),
    };
    for (const params of [PUBLISHED, { r: 1.7, alpha: 0.6, a: 2.2, b: 0.4 }]) {
      const analytic = logLikelihoodGradient(params, data);
      const numeric = numericalGradient(
        (v) => logLikelihood({ r: v[0]!, alpha: v[1]!, a: v[2]!, b: v[3]! }, data),
        Float64Array.of(params.r, params.alpha, params.a, params.b),
        1e-6,
      );
      for (let i = 0; i < 4; i++) {
        expect(Math.abs(analytic[i]! - numeric[i]!)).toBeLessThan(1e-6 * Math.max(1, Math.abs(analytic[i]!)));
      }
    }
  });
});

describe('BG/NBD on CDNOW (FHL 2005)', () => {
  const cdnow = loadCdnowSummary();
  const data = groupRfm(cdnow.frequency, cdnow.recency, cdnow.T);
  const fit = fitBgNbd(data);

  it('summarises the sample as the paper does', () => {
    expect(cdnow.customers).toBe(2357);
    let repeatTransactions = 0;
    let repeaters = 0;
    for (const x of cdnow.frequency) {
      repeatTransactions += x;
      if (x > 0) repeaters++;
    }
    // FHL 2005 §4: 2,357 customers made 2,457 repeat purchases in the 39-week calibration period.
    expect(repeatTransactions).toBe(2457);
    expect(repeaters).toBe(946);
  });

  it('recovers the published estimates within 1 % and lifetimes within 0.05 %, ln L = −9582.4', () => {
    expect(fit.report.converged).toBe(true);
    for (const key of ['r', 'alpha', 'a', 'b'] as const) {
      expect(Math.abs(fit.params[key] / PUBLISHED[key] - 1)).toBeLessThan(0.01);
      expect(Math.abs(fit.params[key] / LIFETIMES[key] - 1)).toBeLessThan(5e-4);
    }
    expect(fit.report.logLikelihood).toBeCloseTo(-9582.4, 1);
  });

  it('is invariant to the time unit: in days α is 7× and ln L shifts by −Σx · ln 7', () => {
    const days = fitBgNbd(
      groupRfm(
        cdnow.frequency,
        cdnow.recency.map((v) => v * 7),
        cdnow.T.map((v) => v * 7),
      ),
    );
    expect(days.params.alpha / (7 * fit.params.alpha) - 1).toBeCloseTo(0, 4);
    for (const key of ['r', 'a', 'b'] as const)
      expect(days.params[key] / fit.params[key] - 1).toBeCloseTo(0, 4);
    expect(days.report.logLikelihood).toBeCloseTo(fit.report.logLikelihood - 2457 * Math.log(7), 4);
  });

  it('standard errors match lifetimes’ summary table (0.01, 0.38, 0.19, 0.71)', () => {
    expect(fit.standardErrors.r).toBeCloseTo(0.0126, 3);
    expect(fit.standardErrors.alpha).toBeCloseTo(0.378, 2);
    expect(fit.standardErrors.a).toBeCloseTo(0.186, 2);
    expect(fit.standardErrors.b).toBeCloseTo(0.706, 2);
  });

  it('reproduces the values of Hardie’s BG/NBD spreadsheet that lifetimes tests against', () => {
    // lifetimes tests/test_estimation.py: E[X(t)] of a new customer (eq. 7) ...
    const times = Float64Array.of(0.1429, 1, 3, 31.8571, 32, 78);
    const expected = [0.0078, 0.0532, 0.1506, 1.0405, 1.0437, 1.8576];
    const actual = expectedPurchasesNewVector(fit.params, times);
    for (let i = 0; i < times.length; i++) expect(Math.abs(actual[i]! - expected[i]!)).toBeLessThan(1e-3);
    // ... and E[X(39) | x = 2, t_x = 30.43, T = 38.86] (eq. 10).
    expect(expectedPurchases(fit.params, 39, 2, 30.43, 38.86)).toBeCloseTo(1.226, 3);
  });
});

describe('BG/NBD predictions', () => {
  const params = PUBLISHED;

  it('P(alive) is 1 without repeat purchases, decreases with T, increases with recency', () => {
    expect(probabilityAlive(params, 0, 0, 10)).toBe(1);
    expect(probabilityAlive(params, 0, 0, 1000)).toBe(1);
    let previous = 1;
    for (const T of [20, 25, 30, 40, 60]) {
      const p = probabilityAlive(params, 3, 20, T);
      expect(p).toBeLessThan(previous);
      previous = p;
    }
    expect(probabilityAlive(params, 3, 30, 40)).toBeGreaterThan(probabilityAlive(params, 3, 10, 40));
    // A customer who just bought (t_x = T) is alive unless they dropped out at that very purchase.
    expect(probabilityAlive(params, 3, 40, 40)).toBeCloseTo(1 / (1 + params.a / (params.b + 2)), 12);
    expect(probabilityAlive(params, 2000, 1, 52)).toBe(0);
  });

  it('no time, no purchases; expectations grow with t', () => {
    expect(expectedPurchases(params, 0, 3, 20, 39)).toBe(0);
    expect(expectedPurchasesNew(params, 0)).toBe(0);
    let previous = 0;
    for (const t of [1, 5, 20, 100, 1000]) {
      const e = expectedPurchases(params, t, 3, 20, 39);
      expect(e).toBeGreaterThan(previous);
      previous = e;
    }
  });

  it('the Euler-transformed 2F1 equals eq. (10) evaluated directly with the defining series', () => {
    const direct = (p: BgNbdParams, t: number, x: number, tx: number, T: number): number => {
      const { r, alpha, a, b } = p;
      const z = t / (alpha + T + t);
      const bracket =
        ((a + b + x - 1) / (a - 1)) *
        (1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1Series(r + x, b + x, a + b + x - 1, z));
      const denominator = 1 + (x > 0 ? (a / (b + x - 1)) * ((alpha + T) / (alpha + tx)) ** (r + x) : 0);
      return bracket / denominator;
    };
    for (const p of [params, { r: 1.7, alpha: 0.6, a: 2.2, b: 0.4 }]) {
      for (const [x, tx, T] of [...HAND_PICKED, [50, 38, 39] as [number, number, number]]) {
        for (const t of [1, 13, 52]) {
          const ours = expectedPurchases(p, t, x, tx, T);
          expect(Math.abs(ours / direct(p, t, x, tx, T) - 1)).toBeLessThan(1e-9);
        }
      }
      // Eq. (7) against the demo's independent implementation.
      for (const t of [0.5, 10, 52, 200]) {
        expect(expectedPurchasesNew(p, t) / bgnbdExpectedPurchases(t, p) - 1).toBeLessThan(1e-9);
      }
    }
  });

  it('stays finite for a very frequent customer (where the direct 2F1 overflows)', () => {
    const e = expectedPurchases(params, 52, 2000, 51.9, 52);
    expect(Number.isFinite(e)).toBe(true);
    expect(e).toBeGreaterThan(1000); // ≈ 38 purchases a week while alive, a one-in-two-thousand dropout
  });

  it('vectorised versions equal the scalar ones', () => {
    const histories = {
      frequency: Float64Array.of(0, 2, 7),
      recency: Float64Array.of(0, 30, 29),
      T: Float64Array.of(39, 39, 35),
    };
    const e = expectedPurchasesVector(params, 10, histories);
    const pa = probabilityAliveVector(params, histories);
    for (let i = 0; i < 3; i++) {
      expect(e[i]).toBe(
        expectedPurchases(params, 10, histories.frequency[i]!, histories.recency[i]!, histories.T[i]!),
      );
      expect(pa[i]).toBe(
        probabilityAlive(params, histories.frequency[i]!, histories.recency[i]!, histories.T[i]!),
      );
    }
  });

  it('E[X(t) | history] and P(alive) agree with a Monte-Carlo estimate from the generative process', () => {
    // Importance sampling from the prior: draw (λ, p) from the mixing distributions, weight each draw by the
    // individual-level likelihood of the history (FHL 2005 eq. 3):
    //   L(λ, p) = (1−p)^x λ^x e^{−λT} + δ_{x>0} p (1−p)^{x−1} λ^x e^{−λ t_x},
    // whose first term is the "still alive" part; then simulate the alive customer's next t weeks.
    const rng = new Rng(7, 42);
    const draws = 200_000;
    const t = 26;
    for (const [x, tx, T] of [
      [0, 0, 30],
      [1, 10, 38],
      [3, 25, 39],
    ] as [number, number, number][]) {
      const aliveWeight = new Float64Array(draws);
      const likelihood = new Float64Array(draws);
      const future = new Float64Array(draws);
      let sumL = 0;
      for (let i = 0; i < draws; i++) {
        const lambda = rng.gamma(params.r, params.alpha);
        const p = rng.beta(params.a, params.b);
        const alive = (1 - p) ** x * lambda ** x * Math.exp(-lambda * T);
        const dead = x > 0 ? p * (1 - p) ** (x - 1) * lambda ** x * Math.exp(-lambda * tx) : 0;
        aliveWeight[i] = alive;
        likelihood[i] = alive + dead;
        future[i] = simulateHistory(rng, lambda, p, t).x;
        sumL += alive + dead;
      }
      let estimate = 0;
      let alive = 0;
      for (let i = 0; i < draws; i++) {
        estimate += aliveWeight[i]! * future[i]!;
        alive += aliveWeight[i]!;
      }
      estimate /= sumL;
      alive /= sumL;
      // Delta-method variance of the ratio estimator R = Σ A_i / Σ L_i: Σ (A_i − R L_i)² / (Σ L_i)².
      let variance = 0;
      for (let i = 0; i < draws; i++)
        variance += (aliveWeight[i]! * future[i]! - estimate * likelihood[i]!) ** 2;
      const se = Math.sqrt(variance) / sumL;
      const closed = expectedPurchases(params, t, x, tx, T);
      expect(Math.abs(estimate - closed)).toBeLessThan(4 * se);
      console.log(
        `BG/NBD Monte Carlo (x=${x}, t_x=${tx}, T=${T}, t=${t}): closed form ${closed.toFixed(4)}, simulated ${estimate.toFixed(4)} ± ${se.toFixed(4)}`,
      );
      if (x > 0) expect(Math.abs(alive - probabilityAlive(params, x, tx, T))).toBeLessThan(0.02);
    }
  });
});

describe('BG/NBD on degenerate data', () => {
  it('without any repeat purchase the estimate runs to the boundary and the report says so', () => {
    const fit = fitBgNbd(groupRfm([0, 0, 0, 0], [0, 0, 0, 0], [10, 20, 30, 40]));
    expect(fit.report.message).toMatch(/not positive definite/);
    expect(Number.isNaN(fit.standardErrors.r)).toBe(true);
    // λ → 0: nobody is expected to buy.
    expect(expectedPurchases({ ...fit.params, a: 0.5 }, 52, 0, 0, 40)).toBeLessThan(0.01);
  });
});

describe('BG/NBD parameter recovery on simulated data', () => {
  it('20,000 customers: the truth lies within 3 standard errors of every estimate', () => {
    const truth: BgNbdParams = { r: 0.5, alpha: 6, a: 0.8, b: 2.5 };
    const sim = simulateBgNbd(20_000, truth, 2026);
    const fit = fitBgNbd(groupRfm(sim.frequency, sim.recency, sim.T));
    expect(fit.report.converged).toBe(true);
    for (const key of ['r', 'alpha', 'a', 'b'] as const) {
      const se = fit.standardErrors[key];
      console.log(
        `BG/NBD recovery ${key}: truth ${truth[key]}, estimate ${fit.params[key].toFixed(4)}, SE ${se.toFixed(4)}`,
      );
      expect(Math.abs(fit.params[key] - truth[key])).toBeLessThan(3 * se);
    }
  });

  it('performance: 1,000,000 customers with times in whole days (logged, not asserted)', () => {
    const truth: BgNbdParams = { r: 0.5, alpha: 6, a: 0.8, b: 2.5 };
    const started = performance.now();
    const sim = simulateBgNbd(1_000_000, truth, 77, { roundToDays: true });
    const simulated = performance.now();
    const data = groupRfm(sim.frequency, sim.recency, sim.T);
    const grouped = performance.now();
    const fit = fitBgNbd(data);
    const fitted = performance.now();
    console.log(
      `BG/NBD 1M customers: simulate ${(simulated - started).toFixed(0)} ms, group ${(grouped - simulated).toFixed(0)} ms ` +
        `→ ${data.frequency.length} rows, fit + standard errors ${(fitted - grouped).toFixed(0)} ms, ` +
        `${fit.report.iterations} iterations, gradient norm ${fit.report.gradientNorm.toExponential(2)}; ` +
        `r=${fit.params.r.toFixed(4)}±${fit.standardErrors.r.toFixed(4)} α=${fit.params.alpha.toFixed(3)}±${fit.standardErrors.alpha.toFixed(3)} ` +
        `a=${fit.params.a.toFixed(4)}±${fit.standardErrors.a.toFixed(4)} b=${fit.params.b.toFixed(3)}±${fit.standardErrors.b.toFixed(3)}`,
    );
    expect(fit.report.converged).toBe(true);
  });
});
