/**
 * A small seeded pseudo-random generator and the samplers the demo needs.
 *
 * Generator: xoshiro128** 1.0 (Blackman & Vigna, "Scrambled linear pseudorandom number generators",
 * ACM TOMS 47(4), 2021), 128 bits of state, 32-bit output, period 2^128 − 1. It is chosen over Math.random
 * because the demo must be reproducible from a seed, and over a 32-bit generator (mulberry32) because a
 * million customers × several streams would collide in a 32-bit state space (birthday bound ≈ 2^16 streams).
 *
 * Streams: every (seed, customer index, stage) gets its own generator whose 128-bit state is hashed from
 * those keys, so any part of the demo can be regenerated without replaying the others.
 */

const TWO_POW_32 = 4294967296;

/** MurmurHash3's 32-bit finaliser (Appleby): a bijective avalanche mix of one word. */
function fmix32(value: number): number {
  let h = value | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** One 32-bit lane of the state: a different hash of the same keys per lane, so the state uses all 128 bits. */
function hashLane(lane: number, keys: readonly number[]): number {
  let h = fmix32(Math.imul(lane + 1, 0x9e3779b9) ^ 0x2545f491);
  for (const key of keys) {
    h = fmix32(h ^ fmix32((key | 0) + Math.imul(lane + 1, 0x632be5ab)));
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  return fmix32(h);
}

/** Splits any safe integer seed into two 32-bit words (low, high), so seeds above 2^32 stay distinct. */
export function seedWords(seed: number): [number, number] {
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer, got ${seed}`);
  const big = BigInt.asUintN(64, BigInt(seed));
  return [Number(big & 0xffffffffn), Number(big >> 32n)];
}

export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spareNormal: number | null = null;

  /** A generator for a stream named by 32-bit integer keys, e.g. (seedLow, seedHigh, customerIndex, stage). */
  constructor(...keys: number[]) {
    this.s0 = hashLane(0, keys);
    this.s1 = hashLane(1, keys);
    this.s2 = hashLane(2, keys);
    this.s3 = hashLane(3, keys);
    // xoshiro's only forbidden state is all zeros.
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
    // A few rounds so that nearby keys (customer i and i+1) are far apart from the first output on.
    for (let i = 0; i < 4; i++) this.nextUint32();
  }

  /** xoshiro128** next(): result = rotl(s1 × 5, 7) × 9, then the xorshift state update. */
  nextUint32(): number {
    const s1 = this.s1;
    const product = Math.imul(s1, 5);
    const result = Math.imul((product << 7) | (product >>> 25), 9) >>> 0;
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = (this.s3 << 11) | (this.s3 >>> 21);
    return result;
  }

  /** Uniform on the open interval (0, 1), so log(u) and u^(1/k) never see 0 or 1. */
  float(): number {
    return (this.nextUint32() + 0.5) / TWO_POW_32;
  }

  /** Uniform on [min, max). */
  uniform(min: number, max: number): number {
    return min + (max - min) * this.float();
  }

  /** Uniform integer in [min, max] (inclusive). The modulo bias is below 2^-20 for ranges up to 4096. */
  int(min: number, max: number): number {
    return min + Math.floor(this.float() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.float() < probability;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty list');
    return items[Math.floor(this.float() * items.length)]!;
  }

  /** Index drawn with probability proportional to weights[i]. */
  weightedIndex(weights: readonly number[]): number {
    let total = 0;
    for (const w of weights) total += w;
    let u = this.float() * total;
    for (let i = 0; i < weights.length; i++) {
      u -= weights[i]!;
      if (u < 0) return i;
    }
    return weights.length - 1;
  }

  /** Standard normal by Marsaglia's polar method (Marsaglia & Bray 1964); the second variate is kept. */
  standardNormal(): number {
    if (this.spareNormal !== null) {
      const spare = this.spareNormal;
      this.spareNormal = null;
      return spare;
    }
    for (;;) {
      const u = 2 * this.float() - 1;
      const v = 2 * this.float() - 1;
      const s = u * u + v * v;
      if (s > 0 && s < 1) {
        const factor = Math.sqrt((-2 * Math.log(s)) / s);
        this.spareNormal = v * factor;
        return u * factor;
      }
    }
  }

  normal(mean: number, sd: number): number {
    return mean + sd * this.standardNormal();
  }

  /** Exponential with the given rate (mean 1/rate), by inversion. */
  exponential(rate: number): number {
    return -Math.log(this.float()) / rate;
  }

  /**
   * Gamma(shape k, rate θ) (mean k/θ, variance k/θ²) by Marsaglia & Tsang, "A simple method for generating
   * gamma variables", ACM TOMS 26(3), 2000: d = k − 1/3, c = 1/√(9d), v = (1 + cX)³ with X standard
   * normal, accept when log U < X²/2 + d − dv + d·log v. For k < 1 their boost: Gamma(k+1) · U^(1/k).
   */
  gamma(shape: number, rate: number): number {
    if (!(shape > 0) || !(rate > 0)) throw new RangeError(`gamma(shape=${shape}, rate=${rate})`);
    if (shape < 1) return this.gamma(shape + 1, rate) * this.float() ** (1 / shape);
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      const x = this.standardNormal();
      let v = 1 + c * x;
      if (v <= 0) continue;
      v = v * v * v;
      const u = this.float();
      const x2 = x * x;
      if (u < 1 - 0.0331 * x2 * x2) return (d * v) / rate;
      if (Math.log(u) < 0.5 * x2 + d * (1 - v + Math.log(v))) return (d * v) / rate;
    }
  }

  /** Beta(a, b) as X/(X+Y) with X ~ Gamma(a, 1), Y ~ Gamma(b, 1) (e.g. Devroye 1986, §IX.4). */
  beta(a: number, b: number): number {
    const x = this.gamma(a, 1);
    const y = this.gamma(b, 1);
    return x / (x + y);
  }

  /**
   * Poisson(mean). Below 30: Knuth's multiplication method (expected mean+1 uniforms). From 30 on:
   * Hörmann's PTRS transformed rejection ("The transformed rejection method for generating Poisson random
   * variables", Insurance: Mathematics and Economics 12, 1993), as NumPy implements it.
   */
  poisson(mean: number): number {
    if (!(mean >= 0)) throw new RangeError(`poisson(mean=${mean})`);
    if (mean === 0) return 0;
    if (mean < 30) {
      const limit = Math.exp(-mean);
      let k = 0;
      let product = this.float();
      while (product > limit) {
        k++;
        product *= this.float();
      }
      return k;
    }
    const slam = Math.sqrt(mean);
    const loglam = Math.log(mean);
    const b = 0.931 + 2.53 * slam;
    const a = -0.059 + 0.02483 * b;
    const invAlpha = 1.1239 + 1.1328 / (b - 3.4);
    const vr = 0.9277 - 3.6224 / (b - 2);
    for (;;) {
      const u = this.float() - 0.5;
      const v = this.float();
      const us = 0.5 - Math.abs(u);
      const k = Math.floor(((2 * a) / us + b) * u + mean + 0.43);
      if (us >= 0.07 && v <= vr) return k;
      if (k < 0 || (us < 0.013 && v > us)) continue;
      if (
        Math.log(v) + Math.log(invAlpha) - Math.log(a / (us * us) + b) <=
        -mean + k * loglam - logGamma(k + 1)
      ) {
        return k;
      }
    }
  }
}

const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0 by the Lanczos approximation (g = 7, n = 9; Press et al., Numerical Recipes §6.1). */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let sum = LANCZOS[0]!;
  for (let i = 1; i < 9; i++) sum += LANCZOS[i]! / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}
