import { describe, expect, it } from 'vitest';
import {
  criticalZ,
  newcombeInterval,
  normalQuantile,
  relativeLift,
  studentTQuantile,
  twoProportionZTest,
  welchInterval,
  wilsonInterval,
} from './statistics.ts';

/** Published values are printed to 4 decimals: agree to within half a unit of the 4th decimal. */
const FOUR_DECIMALS = 5e-5;

describe('Wilson score interval', () => {
  // Newcombe RG. Two-sided confidence intervals for the single proportion: comparison of seven methods.
  // Stat Med 1998;17:857–872, Table I, method 3 (score) and method 4 (score with continuity correction).
  const table1: Array<[number, number, [number, number], [number, number]]> = [
    [81, 263, [0.2553, 0.3662], [0.2535, 0.3682]],
    [15, 148, [0.0624, 0.1605], [0.0598, 0.1644]],
    [0, 20, [0, 0.1611], [0, 0.2005]],
    [1, 29, [0.0061, 0.1718], [0.0018, 0.1963]],
  ];
  for (const [k, n, plain, corrected] of table1) {
    it(`${k}/${n} → ${plain.join(' to ')} (with continuity correction ${corrected.join(' to ')})`, () => {
      const interval = wilsonInterval(k, n);
      expect(interval?.lower).toBeCloseTo(plain[0], 4);
      expect(Math.abs((interval?.lower ?? Number.NaN) - plain[0])).toBeLessThan(FOUR_DECIMALS);
      expect(Math.abs((interval?.upper ?? Number.NaN) - plain[1])).toBeLessThan(FOUR_DECIMALS);
      const cc = wilsonInterval(k, n, { continuityCorrection: true });
      expect(Math.abs((cc?.lower ?? Number.NaN) - corrected[0])).toBeLessThan(FOUR_DECIMALS);
      expect(Math.abs((cc?.upper ?? Number.NaN) - corrected[1])).toBeLessThan(FOUR_DECIMALS);
    });
  }

  it('has no interval for an empty group and refuses impossible counts', () => {
    expect(wilsonInterval(0, 0)).toBeNull();
    expect(() => wilsonInterval(5, 4)).toThrow(/successes/);
    expect(() => wilsonInterval(-1, 4)).toThrow(RangeError);
  });

  it('widens with the confidence level', () => {
    const at90 = wilsonInterval(81, 263, { confidence: 0.9 });
    const at99 = wilsonInterval(81, 263, { confidence: 0.99 });
    expect(at90 && at99 && at99.upper - at99.lower > at90.upper - at90.lower).toBe(true);
  });
});

describe("Newcombe's hybrid score interval for a difference of proportions", () => {
  // Newcombe RG. Interval estimation for the difference between independent proportions: comparison of
  // eleven methods. Stat Med 1998;17:873–890, Table II, method 10 (score, no continuity correction).
  // Each row: k1/n1 − k2/n2 → lower, upper. The same values are used as reference by e.g. R's
  // DescTools::BinomDiffCI(method = "score") and the GSK cicalc tests.
  const table2: Array<[number, number, number, number, number, number]> = [
    [56, 70, 48, 80, 0.0524, 0.3339], // (a) difference 0.2000
    [9, 10, 3, 10, 0.1705, 0.809], // (b) difference 0.6000
    [5, 56, 0, 29, -0.0381, 0.1926], // (d)
    [0, 10, 0, 20, -0.1611, 0.2775], // (e)
    [10, 10, 0, 20, 0.6791, 1.0], // (g)
  ];
  for (const [k1, n1, k2, n2, lower, upper] of table2) {
    it(`${k1}/${n1} − ${k2}/${n2} → ${lower} to ${upper}`, () => {
      const interval = newcombeInterval(k1, n1, k2, n2);
      expect(interval).not.toBeNull();
      expect(interval?.difference).toBeCloseTo(k1 / n1 - k2 / n2, 12);
      expect(Math.abs((interval?.lower ?? Number.NaN) - lower)).toBeLessThan(FOUR_DECIMALS);
      expect(Math.abs((interval?.upper ?? Number.NaN) - upper)).toBeLessThan(FOUR_DECIMALS);
    });
  }

  it('0/10 − 0/10 is symmetric: ± the Wilson upper limit of 0/10 (0.2775)', () => {
    const interval = newcombeInterval(0, 10, 0, 10);
    expect(interval?.lower).toBeCloseTo(-0.2775, 4);
    expect(interval?.upper).toBeCloseTo(0.2775, 4);
  });

  it('swapping the groups mirrors the interval', () => {
    const forward = newcombeInterval(56, 70, 48, 80);
    const backward = newcombeInterval(48, 80, 56, 70);
    expect(backward?.lower).toBeCloseTo(-(forward?.upper ?? 0), 12);
    expect(backward?.upper).toBeCloseTo(-(forward?.lower ?? 0), 12);
  });

  it('has no interval when a group is empty', () => {
    expect(newcombeInterval(1, 10, 0, 0)).toBeNull();
  });
});

describe('two-proportion z-test (pooled, two-sided)', () => {
  it('56/70 vs 48/80, worked by hand', () => {
    // p1 = 0.8, p2 = 0.6, pooled p = 104/150 = 0.693333…
    // se = √(0.693333 × 0.306667 × (1/70 + 1/80)) = √(0.2126222 × 0.0267857) = √0.00569524 = 0.0754668
    // z = 0.2 / 0.0754668 = 2.6502; two-sided p = 2 × (1 − Φ(2.6502)) = 2 × 0.004023 = 0.00805
    // (the one-sided 0.004 agrees with the score statistic 2.65 printed for this table by R's cicalc).
    const test = twoProportionZTest(56, 70, 48, 80);
    expect(test?.z).toBeCloseTo(2.6502, 4);
    expect(test?.pValue).toBeCloseTo(0.00805, 5);
  });

  it('3 % vs 4 % of 2,000 each, worked by hand', () => {
    // 60/2000 vs 80/2000: pooled p = 140/4000 = 0.035; se = √(0.035 × 0.965 × 2/2000) = √0.000033775
    // = 0.00581162; z = −0.01 / 0.00581162 = −1.72069; p = 2 × (1 − Φ(1.72069)) = 2 × 0.042650 = 0.08530.
    const test = twoProportionZTest(60, 2000, 80, 2000);
    expect(test?.z).toBeCloseTo(-1.72069, 4);
    expect(test?.pValue).toBeCloseTo(0.0853, 4);
  });

  it('no responders anywhere: nothing to see (z 0, p 1); an empty group: no test', () => {
    expect(twoProportionZTest(0, 100, 0, 50)).toEqual({ z: 0, pValue: 1 });
    expect(twoProportionZTest(0, 0, 3, 50)).toBeNull();
  });
});

describe('normal and t quantiles', () => {
  it('match the printed tables', () => {
    expect(criticalZ(0.95)).toBeCloseTo(1.959964, 6);
    expect(criticalZ(0.9)).toBeCloseTo(1.644854, 6);
    expect(criticalZ(0.99)).toBeCloseTo(2.575829, 6);
    expect(normalQuantile(0.001)).toBeCloseTo(-3.090232, 6);
    expect(normalQuantile(0.5)).toBe(0);
    // Student t, two-sided 95 % (upper 0.975): df 10 → 2.228, df 30 → 2.042, df 120 → 1.980.
    expect(studentTQuantile(0.975, 10)).toBeCloseTo(2.2281, 3);
    expect(studentTQuantile(0.975, 30)).toBeCloseTo(2.0423, 4);
    expect(studentTQuantile(0.975, 120)).toBeCloseTo(1.9799, 4);
  });
});

describe('relative lift', () => {
  it('is the ratio of the rates minus one', () => {
    expect(relativeLift(60, 1000, 30, 1000)).toBeCloseTo(1, 12); // 6 % vs 3 %: +100 %
    expect(relativeLift(40, 1000, 30, 1000)).toBeCloseTo(1 / 3, 12);
    expect(relativeLift(4, 100, 0, 100)).toBeNull();
  });
});

describe("Welch's interval for a difference of means", () => {
  it('worked by hand', () => {
    // Group 1: n 50, mean 10, variance 4 → sum 500, sum of squares 4 × 49 + 50 × 100 = 5196.
    // Group 2: n 40, mean 8, variance 9 → sum 320, sum of squares 9 × 39 + 40 × 64 = 2911.
    // se = √(4/50 + 9/40) = √0.305 = 0.552268; df = 0.305² / (0.08²/49 + 0.225²/39) = 65.11;
    // t(0.975, 65.11) = 1.9971 (tables: 2.000 at 60, 1.980 at 120); 2 ± 1.9971 × 0.552268 = 0.8971 to 3.1029.
    const interval = welchInterval(
      { n: 50, sum: 500, sumOfSquares: 5196 },
      { n: 40, sum: 320, sumOfSquares: 2911 },
    );
    expect(interval?.difference).toBeCloseTo(2, 12);
    expect(interval?.standardError).toBeCloseTo(0.552268, 6);
    expect(interval?.degreesOfFreedom).toBeCloseTo(65.11, 2);
    expect(interval?.lower).toBeCloseTo(0.8971, 3);
    expect(interval?.upper).toBeCloseTo(3.1029, 3);
  });

  it('no variance at all gives the point; fewer than two observations give nothing', () => {
    expect(
      welchInterval({ n: 10, sum: 0, sumOfSquares: 0 }, { n: 5, sum: 0, sumOfSquares: 0 }),
    ).toMatchObject({
      difference: 0,
      lower: 0,
      upper: 0,
    });
    expect(welchInterval({ n: 1, sum: 3, sumOfSquares: 9 }, { n: 5, sum: 0, sumOfSquares: 0 })).toBeNull();
  });
});
