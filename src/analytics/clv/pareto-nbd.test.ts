import hyp2f1 from '@stdlib/math-base-special-hyp2f1';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../demo/index.ts';
import { logGamma } from '../../demo/random.ts';
import {
  expectedPurchases,
  expectedPurchasesNew,
  expectedPurchasesNewVector,
  expectedPurchasesVector,
  fitParetoNbd,
  logHyp2f1ByQuadrature,
  logHyp2f1Shifted,
  logLikelihood,
  logLikelihoodCustomer,
  type ParetoNbdParams,
  probabilityAlive,
  probabilityAliveVector,
} from './pareto-nbd.ts';
import { groupRfm } from './rfm.ts';
import { loadCdnowSummary } from './test-support.ts';

function logAddExp(u: number, v: number): number {
  const m = Math.max(u, v);
  return m === Number.NEGATIVE_INFINITY ? m : m + Math.log(Math.exp(u - m) + Math.exp(v - m));
}

/**
 * ln 2F1(a, b; c; z) by its defining series Σ (a)_n (b)_n / ((c)_n n!) zⁿ (A&S 15.1.1), summed in log
 * space so terms beyond 1e308 are fine; stops once the geometric bound on the tail, term/(1 − ratio), is
 * below 1e-16 of the sum. An independent check of stdlib's hyp2f1 and of the module's fallbacks.
 */
function logHyp2f1Series(a: number, b: number, c: number, z: number): number {
  let logTerm = 0;
  let logSum = 0;
  for (let n = 0; n < 20_000_000; n++) {
    const ratio = ((a + n) * (b + n) * z) / ((c + n) * (n + 1));
    logTerm += Math.log(ratio);
    logSum = logAddExp(logSum, logTerm);
    if (ratio < 1 && logTerm - Math.log1p(-ratio) < logSum - 37) return logSum;
  }
  throw new Error(`series did not converge for z = ${z}`);
}

/**
 * The Pareto/NBD likelihood from its definition, by 2-D quadrature: E over λ ~ Gamma(r, α), μ ~ Gamma(s, β)
 * of the individual likelihood λ^x e^{−(λ+μ)T} + λ^x μ/(λ+μ) [e^{−(λ+μ)t_x} − e^{−(λ+μ)T}] (Fader &
 * Hardie 2005 note §2). Substituting λ = e^u, μ = e^v makes the integrand smooth on ℝ² and decaying at both
 * ends (like e^{ru} as u → −∞, double-exponentially as u → +∞), where the trapezoidal rule converges
 * geometrically in 1/h (Trefethen & Weideman, SIAM Review 56(3), 2014, §5); h = 0.05 is far past the
 * 1e-6 needed. Uses its own ln Γ (Lanczos, demo/random.ts), not stdlib's.
 */
function likelihoodByQuadrature(
  { r, alpha, s, beta }: ParetoNbdParams,
  x: number,
  tx: number,
  T: number,
): number {
  const h = 0.05;
  const lo = -75;
  const hi = 6;
  const n = Math.round((hi - lo) / h) + 1;
  const lambda = new Float64Array(n);
  const mu = new Float64Array(n);
  // Density of ln λ: g(λ) λ = α^r λ^r e^{−αλ} / Γ(r), times λ^x; the same for μ without λ^x.
  const weightLambda = new Float64Array(n);
  const weightMu = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const u = lo + i * h;
    lambda[i] = Math.exp(u);
    mu[i] = Math.exp(u);
    weightLambda[i] = h * Math.exp(r * Math.log(alpha) - logGamma(r) + (r + x) * u - alpha * lambda[i]!);
    weightMu[i] = h * Math.exp(s * Math.log(beta) - logGamma(s) + s * u - beta * mu[i]!);
  }
  let alive = 0;
  let aliveLambda = 0;
  let aliveMu = 0;
  for (let i = 0; i < n; i++) {
    aliveLambda += weightLambda[i]! * Math.exp(-lambda[i]! * T);
    aliveMu += weightMu[i]! * Math.exp(-mu[i]! * T);
  }
  alive = aliveLambda * aliveMu;
  let died = 0;
  for (let i = 0; i < n; i++) {
    const wl = weightLambda[i]!;
    if (wl === 0) continue;
    for (let j = 0; j < n; j++) {
      const rate = lambda[i]! + mu[j]!;
      // e^{−ρ t_x} − e^{−ρ T} = e^{−ρ t_x} (1 − e^{−ρ (T − t_x)}), without cancellation.
      died += wl * weightMu[j]! * (mu[j]! / rate) * Math.exp(-rate * tx) * -Math.expm1(-rate * (T - tx));
    }
  }
  return alive + died;
}

/**
 * ln L by integrating λ and μ out first (E[λ^x e^{−λτ}] and E[μ e^{−μτ}] are gamma integrals), which
 * leaves L = Γ(r+x)α^rβ^s/Γ(r) · [(α+T)^{−(r+x)}(β+T)^{−s} + s ∫_{t_x}^T (α+τ)^{−(r+x)}(β+τ)^{−(s+1)} dτ],
 * a 1-D integral done here by composite Simpson with 10⁶ panels. For large x, where the 2-D grid above
 * cannot resolve the narrow posterior of λ.
 */
function logLikelihoodBy1d({ r, alpha, s, beta }: ParetoNbdParams, x: number, tx: number, T: number): number {
  const phi = (tau: number): number => -(r + x) * Math.log(alpha + tau) - (s + 1) * Math.log(beta + tau);
  const top = phi(tx);
  const panels = 1_000_000;
  const h = (T - tx) / panels;
  let sum = 0;
  for (let k = 0; k <= panels; k++) {
    const weight = k === 0 || k === panels ? 1 : k % 2 === 1 ? 4 : 2;
    sum += weight * Math.exp(phi(tx + k * h) - top);
  }
  const logIntegral = top + Math.log((sum * h) / 3);
  const logConstant = logGamma(r + x) - logGamma(r) + r * Math.log(alpha) + s * Math.log(beta);
  return (
    logConstant +
    logAddExp(-(r + x) * Math.log(alpha + T) - s * Math.log(beta + T), Math.log(s) + logIntegral)
  );
}

type Simulated = {
  frequency: Float64Array;
  recency: Float64Array;
  T: Float64Array;
  /** Purchases in (T, T + horizon]. */
  holdout: Float64Array;
  /** 1 when the lifetime exceeds T. */
  aliveAtT: Uint8Array;
};

/**
 * The Pareto/NBD generative process (SMC 1987 §2; FH05 §2): λ ~ Gamma(r, rate α), μ ~ Gamma(s, rate β),
 * lifetime τ ~ Exponential(μ), purchases a Poisson(λ) process while alive, first purchase at 0 (not
 * counted in x). Given x purchases in (0, min(τ, T)], their times are iid uniform there, so t_x (the last)
 * is min(τ, T)·U^(1/x). Holdout purchases: Poisson(λ·(min(τ, T+horizon) − T)) if τ > T.
 */
function simulate(
  params: ParetoNbdParams,
  n: number,
  seed: number,
  options: { age?: (rng: Rng) => number; horizon?: number; roundToDays?: boolean } = {},
): Simulated {
  const rng = new Rng(seed, 0x9a7e);
  const age = options.age ?? ((g: Rng) => g.uniform(26, 78));
  const horizon = options.horizon ?? 0;
  const round = (t: number): number => (options.roundToDays ? Math.round(t * 7) / 7 : t);
  const out: Simulated = {
    frequency: new Float64Array(n),
    recency: new Float64Array(n),
    T: new Float64Array(n),
    holdout: new Float64Array(n),
    aliveAtT: new Uint8Array(n),
  };
  for (let i = 0; i < n; i++) {
    const lambda = rng.gamma(params.r, params.alpha);
    const mu = rng.gamma(params.s, params.beta);
    const lifetime = rng.exponential(mu);
    const T = round(age(rng));
    const observed = Math.min(lifetime, T);
    const x = rng.poisson(lambda * observed);
    out.frequency[i] = x;
    out.recency[i] = x === 0 ? 0 : round(observed * rng.float() ** (1 / x));
    out.T[i] = T;
    out.aliveAtT[i] = lifetime > T ? 1 : 0;
    if (horizon > 0 && lifetime > T)
      out.holdout[i] = rng.poisson(lambda * (Math.min(lifetime, T + horizon) - T));
  }
  return out;
}

describe('ln 2F1(a, b; a+1; z)', () => {
  it('matches 2F1(1, 1; 2; z) = −ln(1−z)/z near z = 1 (A&S 15.1.3)', () => {
    for (const z of [0.5, 0.99, 0.999, 0.999999]) {
      const expected = Math.log(-Math.log1p(-z) / z);
      expect(logHyp2f1Shifted(1, 1, z)).toBeCloseTo(expected, 12);
      expect(logHyp2f1ByQuadrature(1, 1, z)).toBeCloseTo(expected, 12);
    }
  });

  it('matches 2F1(1, b; 2; z) = ((1−z)^(1−b) − 1)/((b−1)z), also where the value overflows a double', () => {
    // ∫₀¹ (1−zu)^(−b) du in closed form. b = 2001.5 at z = 0.5 is ≈ e^1379: stdlib returns Infinity there.
    for (const b of [0.3, 3.5, 40.2, 2001.5]) {
      for (const z of [0.5, 0.99, 0.9999]) {
        // Written so that neither power overflows: factor out the larger of (1−z)^(1−b) and 1.
        const expected =
          b > 1
            ? (1 - b) * Math.log1p(-z) + Math.log1p(-((1 - z) ** (b - 1))) - Math.log((b - 1) * z)
            : Math.log(-Math.expm1((1 - b) * Math.log1p(-z))) - Math.log((1 - b) * z);
        expect(Math.abs(logHyp2f1Shifted(1, b, z) - expected)).toBeLessThan(1e-12 * Math.max(1, expected));
        expect(Math.abs(logHyp2f1ByQuadrature(1, b, z) - expected)).toBeLessThan(
          1e-12 * Math.max(1, expected),
        );
      }
    }
    expect(hyp2f1(1, 2001.5, 2, 0.5)).toBe(Number.POSITIVE_INFINITY);
  });

  it('agrees with the defining series at model-like parameters, including stdlib’s failure points', () => {
    const points: [number, number, number][] = [
      // (r+s+x, s+1 or r+x, z) as the likelihood meets them, from easy to z → 1.
      [1.16, 1.61, 0.093],
      [6.2, 5.55, 0.5],
      [3.5, 1.6, 0.9],
      [20.3, 1.6, 0.99],
      [1.2, 1.6, 0.999],
      // a > 170 and z > 0.9: stdlib's series hits its 10,000-term cap, its 1−z transformation overflows Γ(c).
      [400.2, 0.3, 0.999],
      [400.2, 1.6, 0.9999],
      // Large b (x large with β > α): the value itself overflows; the Euler fallback handles it.
      [401.6, 400.9, 0.9],
      [0.6, 2001.5, 0.5],
    ];
    for (const [a, b, z] of points) {
      const expected = logHyp2f1Series(a, b, a + 1, z);
      const tolerance = 1e-11 * Math.max(1, Math.abs(expected));
      expect(Math.abs(logHyp2f1Shifted(a, b, z) - expected)).toBeLessThan(tolerance);
      expect(Math.abs(logHyp2f1ByQuadrature(a, b, z) - expected)).toBeLessThan(tolerance);
    }
    // The regions the fallbacks exist for really are failures of stdlib's hyp2f1 alone.
    expect(Number.isFinite(hyp2f1(400.2, 0.3, 401.2, 0.999))).toBe(false);
    expect(Number.isFinite(hyp2f1(401.6, 400.9, 402.6, 0.9))).toBe(false);
  });

  it('does not trust stdlib for z ≥ 0.99, where it can be finite but wrong', () => {
    // Reference: mpmath 1.3 hyp2f1 at 50 digits. stdlib gives 105.5330690 (6e-5 off in the log).
    const [a, b, z] = [161.7, 7.95, 0.9999996];
    expect(Math.abs(Math.log(hyp2f1(a, b, a + 1, z)) - 105.53300966789907)).toBeGreaterThan(1e-5);
    expect(logHyp2f1Shifted(a, b, z)).toBeCloseTo(105.53300966789907, 11);
  });

  it('is exactly 0 at z = 0 (α = β)', () => {
    expect(logHyp2f1Shifted(3.3, 1.7, 0)).toBe(0);
  });
});

describe('Pareto/NBD log-likelihood', () => {
  const cdnowLike: ParetoNbdParams = { r: 0.55, alpha: 10.58, s: 0.61, beta: 11.67 };

  it('equals the 2-D integral of the individual likelihood over the gamma mixing distributions', () => {
    const cases: [string, ParetoNbdParams, number, number, number][] = [
      ['α > β', { r: 0.8, alpha: 12, s: 0.7, beta: 4 }, 3, 20.5, 40],
      ['β > α', cdnowLike, 5, 30.5, 38],
      ['x = 0', { r: 1.3, alpha: 5, s: 0.45, beta: 20 }, 0, 0, 30],
      ['α = β', { r: 0.8, alpha: 6, s: 0.9, beta: 6 }, 2, 10, 25],
    ];
    for (const [, params, x, tx, T] of cases) {
      const expected = Math.log(likelihoodByQuadrature(params, x, tx, T));
      // They agree to ~4e-14; 1e-9 leaves room for other platforms' libm.
      expect(Math.abs(logLikelihoodCustomer(params, x, tx, T) - expected)).toBeLessThan(1e-9);
    }
  });

  it('stays finite and correct for very frequent buyers, through the fallbacks', () => {
    // β ≫ α with x = 300: the t_x term's 2F1 is ≈ e^785 (overflow, Euler fallback). α ≫ β with z = 0.9993:
    // stdlib's series cap and Γ(302) overflow (quadrature fallback).
    const cases: [ParetoNbdParams, number, number, number][] = [
      [{ r: 0.5, alpha: 2, s: 0.7, beta: 40 }, 300, 1, 40],
      [{ r: 0.5, alpha: 4000, s: 0.7, beta: 2 }, 300, 1, 40],
      [cdnowLike, 120, 35, 38],
    ];
    for (const [params, x, tx, T] of cases) {
      const got = logLikelihoodCustomer(params, x, tx, T);
      expect(Number.isFinite(got)).toBe(true);
      expect(Math.abs(got - logLikelihoodBy1d(params, x, tx, T))).toBeLessThan(1e-10 * Math.abs(got));
    }
  });

  it('is continuous through α = β, where the form switches', () => {
    for (const [x, tx, T] of [
      [0, 0, 30],
      [4, 12, 30],
      [40, 29, 30],
    ] as const) {
      const at = logLikelihoodCustomer({ r: 0.7, alpha: 8, s: 0.5, beta: 8 }, x, tx, T);
      for (const alpha of [8 * (1 - 1e-9), 8 * (1 + 1e-9)]) {
        expect(logLikelihoodCustomer({ r: 0.7, alpha, s: 0.5, beta: 8 }, x, tx, T)).toBeCloseTo(at, 7);
      }
    }
  });

  it('sums weighted rows', () => {
    const data = groupRfm([0, 2, 2, 7], [0, 5, 5, 30], [30, 20, 20, 31]);
    const expected =
      logLikelihoodCustomer(cdnowLike, 0, 0, 30) +
      2 * logLikelihoodCustomer(cdnowLike, 2, 5, 20) +
      logLikelihoodCustomer(cdnowLike, 7, 30, 31);
    expect(logLikelihood(cdnowLike, data)).toBeCloseTo(expected, 10);
    expect(logLikelihood({ ...cdnowLike, s: -1 }, data)).toBeNaN();
  });
});

describe('fitParetoNbd', () => {
  it('reproduces the published CDNOW estimates (Fader, Hardie & Lee 2005)', () => {
    const cdnow = loadCdnowSummary();
    expect(cdnow.customers).toBe(2357);
    const data = groupRfm(cdnow.frequency, cdnow.recency, cdnow.T);
    const fit = fitParetoNbd(data);
    console.log('CDNOW Pareto/NBD', fit.params, 'SE', fit.standardErrors, 'LL', fit.report.logLikelihood);
    const published: ParetoNbdParams = { r: 0.553, alpha: 10.58, s: 0.606, beta: 11.67 };
    for (const name of ['r', 'alpha', 's', 'beta'] as const) {
      expect(Math.abs(fit.params[name] / published[name] - 1)).toBeLessThan(0.02);
    }
    expect(fit.report.converged).toBe(true);
    expect(fit.report.logLikelihood).toBeCloseTo(-9595.0, 1);
  });

  it('recovers the parameters of simulated data within 3 standard errors', () => {
    // α > β here, the other form of the likelihood than CDNOW's.
    const truth: ParetoNbdParams = { r: 0.75, alpha: 8, s: 0.6, beta: 5 };
    const sim = simulate(truth, 20_000, 20240501);
    const fit = fitParetoNbd({ ...sim, weight: new Float64Array(sim.frequency.length).fill(1) });
    for (const name of ['r', 'alpha', 's', 'beta'] as const) {
      const se = fit.standardErrors[name];
      const estimate = fit.params[name].toFixed(4);
      console.log(`recovery ${name}: truth ${truth[name]}, estimate ${estimate}, SE ${se.toFixed(4)}`);
      expect(se).toBeGreaterThan(0);
      expect(Math.abs(fit.params[name] - truth[name])).toBeLessThan(3 * se);
    }
  });

  it('honours an explicit start and reports non-convergence', () => {
    const data = groupRfm([0, 1, 3, 0, 2], [0, 4, 10, 0, 8], [20, 20, 20, 15, 12]);
    expect(() => fitParetoNbd(data, { maxIterations: 1, start: { r: 1, alpha: 1, s: 1, beta: 1 } })).toThrow(
      /did not converge|line search/,
    );
  });

  it('fits a million simulated customers grouped on a day grid (time logged, not asserted)', () => {
    const truth: ParetoNbdParams = { r: 0.75, alpha: 8, s: 0.6, beta: 5 };
    const started = performance.now();
    const sim = simulate(truth, 1_000_000, 7, { roundToDays: true });
    const simulated = performance.now();
    const data = groupRfm(sim.frequency, sim.recency, sim.T);
    const grouped = performance.now();
    const fit = fitParetoNbd(data);
    const fitted = performance.now();
    const ms = (from: number, to: number): string => `${(to - from).toFixed(0)} ms`;
    console.log(
      `1M customers: simulate ${ms(started, simulated)}, group ${ms(simulated, grouped)} ` +
        `→ ${data.frequency.length} rows, fit ${ms(grouped, fitted)} (${fit.report.iterations} iterations)`,
      fit.params,
    );
    expect(fit.report.converged).toBe(true);
  });
});

describe('Pareto/NBD predictions', () => {
  const truth: ParetoNbdParams = { r: 0.75, alpha: 8, s: 0.6, beta: 5 };

  it('expectedPurchases matches a Monte-Carlo estimate from the simulator for several histories', () => {
    // Everyone observed for T = 52, then t = 26 more. Within a bin of histories, the mean of E[Y | x, t_x, T]
    // over its customers equals E[Y | bin] (tower property), so the bin's simulated mean estimates it.
    const T = 52;
    const horizon = 26;
    const sim = simulate(truth, 300_000, 99, { age: () => T, horizon });
    const predicted = expectedPurchasesVector(truth, horizon, sim);
    const alive = probabilityAliveVector(truth, sim);
    const bins: [string, (x: number, tx: number) => boolean][] = [
      ['x = 0', (x) => x === 0],
      ['x = 1–2, t_x < 13', (x, tx) => x >= 1 && x <= 2 && tx < 13],
      ['x = 2–4, 13 ≤ t_x < 39', (x, tx) => x >= 2 && x <= 4 && tx >= 13 && tx < 39],
      ['x ≥ 5, t_x ≥ 45', (x, tx) => x >= 5 && tx >= 45],
    ];
    for (const [label, inBin] of bins) {
      let count = 0;
      let sumY = 0;
      let sumY2 = 0;
      let sumPredicted = 0;
      let sumAlive = 0;
      let sumPredictedAlive = 0;
      for (let i = 0; i < sim.frequency.length; i++) {
        if (!inBin(sim.frequency[i]!, sim.recency[i]!)) continue;
        const y = sim.holdout[i]!;
        count++;
        sumY += y;
        sumY2 += y * y;
        sumPredicted += predicted[i]!;
        sumAlive += sim.aliveAtT[i]!;
        sumPredictedAlive += alive[i]!;
      }
      const meanY = sumY / count;
      const standardError = Math.sqrt((sumY2 / count - meanY * meanY) / count);
      const aliveShare = sumAlive / count;
      const aliveError = Math.sqrt((aliveShare * (1 - aliveShare)) / count);
      const model = (sumPredicted / count).toFixed(4);
      const modelAlive = (sumPredictedAlive / count).toFixed(4);
      console.log(
        `${label}: n = ${count}, E[Y] model ${model} vs simulated ${meanY.toFixed(4)} ± ` +
          `${standardError.toFixed(4)}; ` +
          `P(alive) model ${modelAlive} vs simulated ${aliveShare.toFixed(4)}`,
      );
      expect(count).toBeGreaterThan(1000);
      expect(Math.abs(sumPredicted / count - meanY)).toBeLessThan(4 * standardError);
      expect(Math.abs(sumPredictedAlive / count - aliveShare)).toBeLessThan(4 * aliveError);
    }
  });

  it('expectedPurchasesNew matches the simulated mean number of purchases of new customers', () => {
    for (const t of [13, 52]) {
      const sim = simulate(truth, 200_000, 5 + t, { age: () => t });
      let sum = 0;
      let sum2 = 0;
      for (const x of sim.frequency) {
        sum += x;
        sum2 += x * x;
      }
      const n = sim.frequency.length;
      const mean = sum / n;
      const standardError = Math.sqrt((sum2 / n - mean * mean) / n);
      expect(Math.abs(expectedPurchasesNew(truth, t) - mean)).toBeLessThan(4 * standardError);
    }
    expect(Array.from(expectedPurchasesNewVector(truth, Float64Array.of(0, 13)))).toEqual([
      0,
      expectedPurchasesNew(truth, 13),
    ]);
  });

  it('has the right limiting cases', () => {
    // A purchase right at T: alive for sure (the likelihood's two terms reduce to the survival term).
    for (const x of [1, 5, 80]) expect(probabilityAlive(truth, x, 40, 40)).toBeCloseTo(1, 12);
    // Just acquired: alive, and the conditional expectation is the new-customer one.
    expect(probabilityAlive(truth, 0, 0, 0)).toBeCloseTo(1, 12);
    expect(expectedPurchases(truth, 26, 0, 0, 0)).toBeCloseTo(expectedPurchasesNew(truth, 26), 12);
    // Long silence after a burst of buying: almost surely gone.
    expect(probabilityAlive(truth, 20, 2, 200)).toBeLessThan(1e-6);
    // More silence, lower P(alive); a later last purchase, higher.
    expect(probabilityAlive(truth, 3, 10, 40)).toBeLessThan(probabilityAlive(truth, 3, 10, 30));
    expect(probabilityAlive(truth, 3, 25, 40)).toBeGreaterThan(probabilityAlive(truth, 3, 10, 40));
    // No horizon, no purchases.
    expect(expectedPurchases(truth, 0, 3, 10, 40)).toBe(0);
    // s = 1 is a removable singularity of (1 − (·)^(s−1))/(s−1): the limit is continuous.
    const at = expectedPurchases({ ...truth, s: 1 }, 26, 3, 10, 40);
    expect(expectedPurchases({ ...truth, s: 1 + 1e-9 }, 26, 3, 10, 40)).toBeCloseTo(at, 7);
    expect(expectedPurchasesNew({ ...truth, s: 1 }, 26)).toBeCloseTo(
      expectedPurchasesNew({ ...truth, s: 1 - 1e-9 }, 26),
      7,
    );
  });

  it('rejects invalid parameters and horizons', () => {
    expect(() => probabilityAlive({ ...truth, beta: 0 }, 1, 1, 2)).toThrow(/beta/);
    expect(() => expectedPurchases(truth, -1, 1, 1, 2)).toThrow(/horizon/);
  });
});
