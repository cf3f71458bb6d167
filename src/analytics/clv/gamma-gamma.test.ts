import { describe, expect, it } from 'vitest';
import { gammaGammaMeanSpend, Rng } from '../../demo/index.ts';
import { type BgNbdParams, expectedPurchasesVector, fitBgNbd } from './bgnbd.ts';
import { customerLifetimeValue, totalCustomerEquity } from './clv.ts';
import { numericalGradient } from './fitter.ts';
import {
  conditionalExpectedValue,
  conditionalExpectedValueVector,
  fitGammaGamma,
  type GammaGammaParams,
  logLikelihood,
  logLikelihoodCustomer,
  logLikelihoodGradient,
} from './gamma-gamma.ts';
import { groupRfm, groupSpend, type SpendData } from './rfm.ts';
import { lnGammaStirling, loadCdnowSummary, simulateBgNbd, simulateGammaGamma } from './test-support.ts';

/** Fader & Hardie's note (2013), CDNOW, 946 repeat customers: p = 6.25, q = 3.74, γ = 15.44. */
const PUBLISHED: GammaGammaParams = { p: 6.25, q: 3.74, gamma: 15.44 };
/** lifetimes' GammaGammaFitter on the same data (its README). */
const LIFETIMES: GammaGammaParams = { p: 6.2488, q: 3.7443, gamma: 15.4426 };

/** The note's f(m_x | p, q, γ, x) written out as a product of powers, from an independent lnΓ. */
function independentLogLikelihood({ p, q, gamma }: GammaGammaParams, x: number, mx: number): number {
  const normaliser = Math.exp(lnGammaStirling(p * x + q) - lnGammaStirling(p * x) - lnGammaStirling(q));
  const density =
    (normaliser * gamma ** q * mx ** (p * x - 1) * x ** (p * x)) / (gamma + mx * x) ** (p * x + q);
  return Math.log(density);
}

describe('Gamma-Gamma log-likelihood (the note, f(m_x | p, q, γ, x))', () => {
  const customers: [number, number][] = [
    [1, 11.77],
    [2, 22.345],
    [6, 41.5],
  ];

  it('matches the density written out term by term for three customers, to 1e-9', () => {
    for (const params of [PUBLISHED, { p: 1.3, q: 0.7, gamma: 4 }]) {
      for (const [x, mx] of customers) {
        expect(
          Math.abs(logLikelihoodCustomer(params, x, mx) - independentLogLikelihood(params, x, mx)),
        ).toBeLessThan(1e-9);
      }
      const data: SpendData = {
        frequency: Float64Array.of(1, 2, 6),
        meanValue: Float64Array.of(11.77, 22.345, 41.5),
        weight: Float64Array.of(2, 1, 3),
      };
      const weighted =
        2 * independentLogLikelihood(params, 1, 11.77) +
        independentLogLikelihood(params, 2, 22.345) +
        3 * independentLogLikelihood(params, 6, 41.5);
      expect(Math.abs(logLikelihood(params, data) - weighted)).toBeLessThan(1e-9);
    }
  });

  it('analytic gradient equals the central-difference gradient', () => {
    const data: SpendData = {
      frequency: Float64Array.of(1, 2, 6, 40),
      meanValue: Float64Array.of(11.77, 22.345, 41.5, 3),
      weight: Float64Array.of(2, 1, 3, 1),
    };
    for (const params of [PUBLISHED, { p: 1.3, q: 0.7, gamma: 4 }]) {
      const analytic = logLikelihoodGradient(params, data);
      const numeric = numericalGradient(
        (v) => logLikelihood({ p: v[0]!, q: v[1]!, gamma: v[2]! }, data),
        Float64Array.of(params.p, params.q, params.gamma),
        1e-6,
      );
      for (let i = 0; i < 3; i++) {
        expect(Math.abs(analytic[i]! - numeric[i]!)).toBeLessThan(1e-6 * Math.max(1, Math.abs(analytic[i]!)));
      }
    }
  });

  it('refuses customers without repeat purchases', () => {
    const data: SpendData = {
      frequency: Float64Array.of(0),
      meanValue: Float64Array.of(5),
      weight: Float64Array.of(1),
    };
    expect(() => fitGammaGamma(data)).toThrow(/frequency > 0/);
  });
});

describe('Gamma-Gamma on CDNOW', () => {
  const cdnow = loadCdnowSummary();
  const repeat = [...cdnow.frequency.keys()].filter((i) => cdnow.frequency[i]! > 0);
  const spend = groupSpend(
    repeat.map((i) => cdnow.frequency[i]!),
    repeat.map((i) => cdnow.meanValue[i]!),
  );
  const fit = fitGammaGamma(spend);

  it('946 repeat customers; recovers the published estimates within 1 % and lifetimes within 0.05 %', () => {
    expect(repeat.length).toBe(946);
    expect(fit.report.converged).toBe(true);
    for (const key of ['p', 'q', 'gamma'] as const) {
      expect(Math.abs(fit.params[key] / PUBLISHED[key] - 1)).toBeLessThan(0.01);
      expect(Math.abs(fit.params[key] / LIFETIMES[key] - 1)).toBeLessThan(5e-4);
    }
    console.log(
      `Gamma-Gamma CDNOW: p=${fit.params.p.toFixed(4)}±${fit.standardErrors.p.toFixed(3)} q=${fit.params.q.toFixed(4)}±${fit.standardErrors.q.toFixed(3)} ` +
        `γ=${fit.params.gamma.toFixed(4)}±${fit.standardErrors.gamma.toFixed(3)} ln L=${fit.report.logLikelihood.toFixed(2)} (${fit.report.iterations} iterations)`,
    );
  });

  it('12-month CLV reproduces lifetimes’ documented CDNOW values', () => {
    // lifetimes' docs call customer_lifetime_value with its default freq='D' on this WEEKLY data, i.e. a
    // "month" of 30 weeks; with the same convention the first customers' values are 140.096, 18.943 and
    // 38.181 (customers 3–5 have no repeat purchases). Parameters differ from lifetimes' in the 4th digit.
    const bgnbd = fitBgNbd(groupRfm(cdnow.frequency, cdnow.recency, cdnow.T)).params;
    const expectedSpend = conditionalExpectedValueVector(fit.params, cdnow);
    const predict = (t: number, c: Parameters<typeof expectedPurchasesVector>[2]) =>
      expectedPurchasesVector(bgnbd, t, c);
    const clv = customerLifetimeValue(predict, cdnow, expectedSpend, { unitsPerMonth: 30 });
    const documented = [140.096211, 18.943467, 38.180574, 38.180574, 38.180574];
    for (let i = 0; i < documented.length; i++)
      expect(Math.abs(clv[i]! / documented[i]! - 1)).toBeLessThan(1e-3);
    const monthly = customerLifetimeValue(predict, cdnow, expectedSpend, { unitsPerMonth: 365.25 / 12 / 7 });
    console.log(
      `CDNOW customer equity, 12 months at 1 %/month: ${totalCustomerEquity(monthly).toFixed(0)} dollars ` +
        `(lifetimes-docs convention of 30 weeks a month: ${totalCustomerEquity(clv).toFixed(0)})`,
    );
  });
});

describe('Gamma-Gamma predictions', () => {
  it('E[Z | x, m_x] = p(γ + x m_x)/(px + q − 1): population mean at x = 0, tends to m_x as x grows', () => {
    const params = PUBLISHED;
    expect(conditionalExpectedValue(params, 0, 123)).toBeCloseTo(gammaGammaMeanSpend(params), 12);
    expect(conditionalExpectedValue(params, 2, 30)).toBeCloseTo((6.25 * (15.44 + 60)) / (12.5 + 2.74), 12);
    expect(Math.abs(conditionalExpectedValue(params, 10_000, 30) / 30 - 1)).toBeLessThan(1e-3);
    expect(() => conditionalExpectedValue({ p: 1, q: 0.9, gamma: 1 }, 1, 1)).toThrow(/q > 1/);
  });

  it('agrees with a Monte-Carlo estimate of E[z | m_x] from the generative process', () => {
    // Simulate customers with x = 3 transactions (ν ~ Gamma(q, γ), z ~ Gamma(p, ν)) and one more; among those
    // whose m_x falls in a narrow bin around 40, average the next transaction's value.
    const params: GammaGammaParams = { p: 6, q: 4, gamma: 15 };
    const rng = new Rng(11, 3);
    const x = 3;
    let sum = 0;
    let sumSquares = 0;
    let count = 0;
    for (let i = 0; i < 300_000; i++) {
      const nu = rng.gamma(params.q, params.gamma);
      let total = 0;
      for (let k = 0; k < x; k++) total += rng.gamma(params.p, nu);
      const next = rng.gamma(params.p, nu);
      if (Math.abs(total / x - 40) < 1) {
        sum += next;
        sumSquares += next * next;
        count++;
      }
    }
    const estimate = sum / count;
    const se = Math.sqrt((sumSquares / count - estimate * estimate) / count);
    const closed = conditionalExpectedValue(params, x, 40);
    console.log(
      `Gamma-Gamma Monte Carlo (x=3, m_x=40±1): closed form ${closed.toFixed(3)}, simulated ${estimate.toFixed(3)} ± ${se.toFixed(3)}`,
    );
    expect(count).toBeGreaterThan(1000);
    // 4 SE plus 0.5 % for the bin's width (E is linear in m_x, so the bin averages out to first order).
    expect(Math.abs(estimate - closed)).toBeLessThan(4 * se + 0.005 * closed);
  });
});

describe('Gamma-Gamma parameter recovery on simulated data', () => {
  it('repeat customers of 20,000 simulated: the truth lies within 3 standard errors', () => {
    const truth: GammaGammaParams = { p: 6, q: 4, gamma: 15 };
    const bgnbdTruth: BgNbdParams = { r: 0.5, alpha: 6, a: 0.8, b: 2.5 };
    const sim = simulateBgNbd(20_000, bgnbdTruth, 2027);
    const mx = simulateGammaGamma(sim.frequency, truth, 2028);
    const repeat = [...sim.frequency.keys()].filter((i) => sim.frequency[i]! > 0);
    const fit = fitGammaGamma(
      groupSpend(
        repeat.map((i) => sim.frequency[i]!),
        repeat.map((i) => mx[i]!),
      ),
    );
    expect(fit.report.converged).toBe(true);
    for (const key of ['p', 'q', 'gamma'] as const) {
      const se = fit.standardErrors[key];
      console.log(
        `Gamma-Gamma recovery (${repeat.length} repeat customers) ${key}: truth ${truth[key]}, estimate ${fit.params[key].toFixed(4)}, SE ${se.toFixed(4)}`,
      );
      expect(Math.abs(fit.params[key] - truth[key])).toBeLessThan(3 * se);
    }
  });
});
