/**
 * Closed-form population quantities of the models the demo samples from, so that tests (here and in the
 * analytics modules) can compare generated data with the truth without fitting anything.
 */

/**
 * Gauss hypergeometric 2F1(a, b; c; z) by its defining series Σ (a)_n (b)_n / ((c)_n n!) zⁿ, for 0 ≤ z < 1
 * (Abramowitz & Stegun 15.1.1). The demo only evaluates it at z = t/(α+t) < 1, where the terms shrink
 * geometrically; ≈ 1,500 terms suffice at z = 0.98.
 */
export function hyp2f1Series(a: number, b: number, c: number, z: number): number {
  if (!(z >= 0 && z < 1)) throw new RangeError(`hyp2f1Series needs 0 <= z < 1, got ${z}`);
  let term = 1;
  let sum = 1;
  for (let n = 0; n < 1_000_000; n++) {
    term *= (((a + n) * (b + n)) / ((c + n) * (n + 1))) * z;
    sum += term;
    if (Math.abs(term) <= 1e-15 * Math.abs(sum)) return sum;
  }
  throw new RangeError(`hyp2f1Series did not converge for z = ${z}`);
}

export type BgnbdParams = { r: number; alpha: number; a: number; b: number };
export type GammaGammaParams = { p: number; q: number; gamma: number };

/**
 * Expected number of repeat purchases in (0, t] of a customer just acquired, under BG/NBD:
 * E[X(t)] = (a+b−1)/(a−1) · [1 − (α/(α+t))^r · 2F1(r, b; a+b−1; t/(α+t))]
 * (Fader, Hardie & Lee 2005, "Counting your customers the easy way", Marketing Science 24(2), eq. 7).
 */
export function bgnbdExpectedPurchases(t: number, { r, alpha, a, b }: BgnbdParams): number {
  if (t === 0) return 0;
  const z = t / (alpha + t);
  return ((a + b - 1) / (a - 1)) * (1 - (alpha / (alpha + t)) ** r * hyp2f1Series(r, b, a + b - 1, z));
}

/**
 * Probability that a customer acquired t weeks ago has not dropped out. Given λ and p the lifetime is
 * Exponential(λp) (a Geometric(p) number of Exponential(λ) gaps), so P(alive | λ, p) = e^{−λpt} (FHL 2005
 * §3). Integrating over λ ~ Gamma(r, α) gives E_p[(α/(α+pt))^r]; over p ~ Beta(a, b) that is Euler's integral
 * 2F1(r, a; a+b; −t/α), turned by Pfaff's transformation (A&S 15.3.4) into the convergent
 * (α/(α+t))^r · 2F1(r, b; a+b; t/(α+t)).
 */
export function bgnbdProbabilityAlive(t: number, { r, alpha, a, b }: BgnbdParams): number {
  if (t === 0) return 1;
  return (alpha / (alpha + t)) ** r * hyp2f1Series(r, b, a + b, t / (alpha + t));
}

/**
 * Population mean transaction value under Gamma-Gamma: z | ν ~ Gamma(p, ν), ν ~ Gamma(q, γ), so
 * E[z] = E[p/ν] = pγ/(q−1) for q > 1 (Fader, Hardie & Lee 2005, "RFM and CLV", JMR 42(4), §4; Colombo &
 * Jiang 1999).
 */
export function gammaGammaMeanSpend({ p, q, gamma }: GammaGammaParams): number {
  if (!(q > 1)) throw new RangeError('the Gamma-Gamma mean needs q > 1');
  return (p * gamma) / (q - 1);
}

/**
 * Expected repeat purchases in the next h weeks of a customer who is alive now, given λ and p: the remaining
 * lifetime is again Exponential(λp) (memoryless), so E = ∫₀ʰ λ e^{−λps} ds = (1 − e^{−λph}) / p.
 */
export function expectedPurchasesIfAlive(lambda: number, p: number, h: number): number {
  return (1 - Math.exp(-lambda * p * h)) / p;
}
