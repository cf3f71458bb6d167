import { describe, expect, it } from 'vitest';
import { logGamma } from './random.ts';
import {
  type BgnbdParams,
  bgnbdExpectedPurchases,
  bgnbdProbabilityAlive,
  gammaGammaMeanSpend,
  hyp2f1Series,
} from './truth.ts';

const CDNOW: BgnbdParams = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };

/**
 * E_p[g(p)] for p ~ Beta(a, b) by the midpoint rule after substituting p = u^(1/a), which removes the
 * p^(a−1) singularity at 0: E = 1/(a·B(a,b)) ∫₀¹ g(u^(1/a)) (1 − u^(1/a))^(b−1) du.
 */
function betaExpectation(g: (p: number) => number, a: number, b: number, steps = 200_000): number {
  const logBeta = logGamma(a) + logGamma(b) - logGamma(a + b);
  let sum = 0;
  for (let i = 0; i < steps; i++) {
    const p = ((i + 0.5) / steps) ** (1 / a);
    sum += g(p) * (1 - p) ** (b - 1);
  }
  return sum / steps / (a * Math.exp(logBeta));
}

describe('closed forms', () => {
  it('sums 2F1 to known elementary functions', () => {
    // 2F1(1, 1; 2; z) = −ln(1−z)/z and 2F1(a, b; b; z) = (1−z)^(−a) (A&S 15.1.3, 15.1.8).
    for (const z of [0.1, 0.5, 0.9, 0.98]) {
      expect(hyp2f1Series(1, 1, 2, z)).toBeCloseTo(-Math.log(1 - z) / z, 10);
      expect(hyp2f1Series(0.3, 2.2, 2.2, z)).toBeCloseTo((1 - z) ** -0.3, 10);
    }
  });

  it('matches E[X(t)] (FHL 2005 eq. 7) with a direct integral of (1 − e^{−λpt})/p', () => {
    // Independent route: E[X(t) | λ, p] = (1 − e^{−λpt})/p; over λ ~ Gamma(r, α), E[e^{−λpt}] = (α/(α+pt))^r;
    // then integrate over p ~ Beta(a, b) numerically.
    for (const params of [CDNOW, { r: 0.4, alpha: 4, a: 0.8, b: 2.5 }]) {
      for (const t of [1, 39, 52, 156]) {
        const direct = betaExpectation(
          (p) => (1 - (params.alpha / (params.alpha + p * t)) ** params.r) / p,
          params.a,
          params.b,
        );
        expect(bgnbdExpectedPurchases(t, params)).toBeCloseTo(direct, 4);
      }
    }
  });

  it('matches P(alive at t) with a direct integral of (α/(α+pt))^r', () => {
    for (const t of [1, 39, 78]) {
      const direct = betaExpectation(
        (p) => (CDNOW.alpha / (CDNOW.alpha + p * t)) ** CDNOW.r,
        CDNOW.a,
        CDNOW.b,
      );
      expect(bgnbdProbabilityAlive(t, CDNOW)).toBeCloseTo(direct, 5);
    }
  });

  it('gives the Gamma-Gamma mean pγ/(q−1)', () => {
    expect(gammaGammaMeanSpend({ p: 6, q: 4, gamma: 2000 })).toBe(4000);
    expect(() => gammaGammaMeanSpend({ p: 6, q: 1, gamma: 2000 })).toThrow(RangeError);
  });
});
