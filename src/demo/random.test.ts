import { describe, expect, it } from 'vitest';
import { logGamma, Rng, seedWords } from './random.ts';

const N = 200_000;

/** Sample mean, variance and fourth central moment. */
function moments(draw: () => number, n = N): { mean: number; variance: number; m4: number } {
  const xs = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    xs[i] = draw();
    sum += xs[i]!;
  }
  const mean = sum / n;
  let m2 = 0;
  let m4 = 0;
  for (const x of xs) {
    const d2 = (x - mean) ** 2;
    m2 += d2;
    m4 += d2 * d2;
  }
  return { mean, variance: m2 / (n - 1), m4: m4 / n };
}

/**
 * Mean within 4 standard errors σ/√n of the true mean, and variance within 4 standard errors of the true
 * variance, the variance's standard error being √((μ₄ − σ⁴)/n) estimated from the sample. Four standard
 * errors: across the ~20 checks here a false alarm would have probability ≈ 0.1 % for a correct sampler.
 */
function expectMoments(draw: () => number, mean: number, variance: number): void {
  const sample = moments(draw);
  expect(Math.abs(sample.mean - mean)).toBeLessThan(4 * Math.sqrt(variance / N));
  const varianceSe = Math.sqrt(Math.max(sample.m4 - sample.variance ** 2, 0) / N);
  expect(Math.abs(sample.variance - variance)).toBeLessThan(4 * varianceSe);
}

describe('Rng (xoshiro128**)', () => {
  it('is deterministic per key and differs between keys', () => {
    const sequence = (...keys: number[]) => {
      const rng = new Rng(...keys);
      return Array.from({ length: 8 }, () => rng.nextUint32());
    };
    expect(sequence(1, 0, 5, 2)).toEqual(sequence(1, 0, 5, 2));
    expect(sequence(1, 0, 5, 2)).not.toEqual(sequence(1, 0, 6, 2));
    expect(sequence(1, 0, 5, 2)).not.toEqual(sequence(1, 0, 5, 3));
    expect(sequence(1, 0, 5, 2)).not.toEqual(sequence(2, 0, 5, 2));
  });

  it('splits seeds above 2^32 into distinct words', () => {
    expect(seedWords(1)).toEqual([1, 0]);
    expect(seedWords(2 ** 32 + 1)).toEqual([1, 1]);
    expect(seedWords(-1)).toEqual([0xffffffff, 0xffffffff]);
    expect(() => seedWords(0.5)).toThrow(RangeError);
  });

  it('draws uniforms strictly inside (0, 1) with mean 1/2 and variance 1/12', () => {
    const rng = new Rng(42);
    let min = 1;
    let max = 0;
    expectMoments(
      () => {
        const u = rng.float();
        min = Math.min(min, u);
        max = Math.max(max, u);
        return u;
      },
      0.5,
      1 / 12,
    );
    expect(min).toBeGreaterThan(0);
    expect(max).toBeLessThan(1);
  });

  it('draws integers uniformly over an inclusive range', () => {
    const rng = new Rng(7);
    const counts = [0, 0, 0, 0, 0, 0];
    for (let i = 0; i < 60_000; i++) counts[rng.int(1, 6) - 1]! += 1;
    // Each count is Binomial(60000, 1/6): sd ≈ 91; 4 sd.
    for (const count of counts) expect(Math.abs(count - 10_000)).toBeLessThan(4 * 91.3);
  });

  it.each([
    [0.4, 4],
    [1, 1],
    [2.5, 0.5],
    [6, 0.003],
  ])('draws Gamma(shape %s, rate %s) with mean k/θ and variance k/θ² (Marsaglia–Tsang)', (shape, rate) => {
    const rng = new Rng(shape * 1000, rate * 1000);
    expectMoments(() => rng.gamma(shape, rate), shape / rate, shape / rate ** 2);
  });

  it.each([
    [0.8, 2.5],
    [2, 5],
    [0.5, 0.5],
  ])('draws Beta(%s, %s) with mean a/(a+b) and variance ab/((a+b)²(a+b+1))', (a, b) => {
    const rng = new Rng(a * 100, b * 100, 3);
    const s = a + b;
    expectMoments(() => rng.beta(a, b), a / s, (a * b) / (s * s * (s + 1)));
  });

  it('draws exponentials with mean 1/rate and variance 1/rate²', () => {
    const rng = new Rng(11);
    expectMoments(() => rng.exponential(0.25), 4, 16);
  });

  it('draws normals with the given mean and variance', () => {
    const rng = new Rng(12);
    expectMoments(() => rng.normal(3, 2), 3, 4);
  });

  it.each([0.3, 4, 29.5, 30, 250])('draws Poisson(%s) with mean and variance equal to the rate', (mean) => {
    const rng = new Rng(13, mean * 10);
    expectMoments(() => rng.poisson(mean), mean, mean);
  });

  it('computes ln Γ exactly enough for the Poisson sampler', () => {
    expect(logGamma(1)).toBeCloseTo(0, 12);
    expect(logGamma(5)).toBeCloseTo(Math.log(24), 12);
    expect(logGamma(0.5)).toBeCloseTo(Math.log(Math.sqrt(Math.PI)), 12);
    expect(logGamma(101)).toBeCloseTo(363.73937555556347, 9);
  });

  it('picks by weight', () => {
    const rng = new Rng(14);
    let hits = 0;
    for (let i = 0; i < 100_000; i++) if (rng.weightedIndex([1, 3]) === 1) hits++;
    // Binomial(100000, 0.75): sd ≈ 137; 4 sd.
    expect(Math.abs(hits - 75_000)).toBeLessThan(4 * 137);
  });
});
