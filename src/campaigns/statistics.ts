import erfc from '@stdlib/math-base-special-erfc';

/**
 * The statistics of the campaign report: pure functions on counts and sums, no database.
 *
 * - a response rate's interval: Wilson's score interval (Newcombe 1998a, method 3; method 4 with the
 *   continuity correction);
 * - the difference of two rates (variant − holdout): Newcombe's hybrid score interval (Newcombe 1998b,
 *   method 10), which combines the two Wilson intervals and, unlike the textbook Wald interval, behaves at
 *   small counts and rates near 0 (a 3 % response rate is near 0);
 * - whether the rates differ: the pooled two-proportion z-test, two-sided;
 * - revenue per recipient: Welch's interval for a difference of means with unequal variances.
 *
 * References: Newcombe RG. Two-sided confidence intervals for the single proportion: comparison of seven
 * methods. Stat Med 1998;17:857–872 (1998a). Newcombe RG. Interval estimation for the difference between
 * independent proportions: comparison of eleven methods. Stat Med 1998;17:873–890 (1998b).
 */

export type Interval = { lower: number; upper: number };
export type DifferenceInterval = Interval & { difference: number };
export type IntervalOptions = { confidence?: number };

/** Standard normal upper tail P(Z > z). */
export function normalUpperTail(z: number): number {
  return 0.5 * erfc(z / Math.SQRT2);
}

/** a0·xⁿ + a1·xⁿ⁻¹ + … + an. */
const horner = (coefficients: readonly number[], x: number): number =>
  coefficients.reduce((sum, coefficient) => sum * x + coefficient, 0);

/**
 * The standard normal quantile Φ⁻¹(p): Acklam's rational approximation (relative error < 1.2e-9), then one
 * Halley step against the exact tail from erfc, which brings it to double precision.
 */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) {
    if (p === 0) return Number.NEGATIVE_INFINITY;
    if (p === 1) return Number.POSITIVE_INFINITY;
    throw new RangeError(`normalQuantile: p must be in [0, 1], got ${p}`);
  }
  const a = [
    -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716,
    2.506628277459239,
  ];
  const b = [
    -54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572,
  ];
  const c = [
    -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
    2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const low = 0.02425;
  let x: number;
  if (p < low || p > 1 - low) {
    const q = Math.sqrt(-2 * Math.log(p < low ? p : 1 - p));
    const tail = horner(c, q) / horner([...d, 1], q);
    x = p < low ? tail : -tail;
  } else {
    const q = p - 0.5;
    const r = q * q;
    x = (horner(a, r) * q) / horner([...b, 1], r);
  }
  // Halley refinement: e = Φ(x) − p with Φ(x) = erfc(−x/√2)/2.
  const e = 0.5 * erfc(-x / Math.SQRT2) - p;
  const u = e * Math.sqrt(2 * Math.PI) * Math.exp((x * x) / 2);
  return x - u / (1 + (x * u) / 2);
}

/** The two-sided critical value for a confidence level: 0.95 → 1.959964. */
export function criticalZ(confidence = 0.95): number {
  if (!(confidence > 0 && confidence < 1))
    throw new RangeError(`confidence must be in (0, 1), got ${confidence}`);
  return normalQuantile(1 - (1 - confidence) / 2);
}

function checkCounts(successes: number, trials: number, name = 'successes'): void {
  if (
    !Number.isInteger(successes) ||
    !Number.isInteger(trials) ||
    successes < 0 ||
    trials < 0 ||
    successes > trials
  ) {
    throw new RangeError(`${name}: need whole numbers with 0 ≤ ${name} ≤ trials, got ${successes}/${trials}`);
  }
}

/**
 * Wilson's score interval for one proportion k/n (null when n = 0: no rate to estimate). With
 * `continuityCorrection` it is Newcombe 1998a's method 4 (wider, conservative).
 */
export function wilsonInterval(
  successes: number,
  trials: number,
  options: IntervalOptions & { continuityCorrection?: boolean } = {},
): Interval | null {
  checkCounts(successes, trials);
  if (trials === 0) return null;
  const z = criticalZ(options.confidence);
  const z2 = z * z;
  const n = trials;
  const p = successes / n;
  const q = 1 - p;
  const denominator = 2 * (n + z2);
  if (!options.continuityCorrection) {
    const centre = 2 * n * p + z2;
    const half = z * Math.sqrt(z2 + 4 * n * p * q);
    return {
      lower: Math.max(0, (centre - half) / denominator),
      upper: Math.min(1, (centre + half) / denominator),
    };
  }
  const lower =
    successes === 0
      ? 0
      : (2 * n * p + z2 - 1 - z * Math.sqrt(z2 - 2 - 1 / n + 4 * p * (n * q + 1))) / denominator;
  const upper =
    successes === n
      ? 1
      : (2 * n * p + z2 + 1 + z * Math.sqrt(z2 + 2 - 1 / n + 4 * p * (n * q - 1))) / denominator;
  return { lower: Math.max(0, lower), upper: Math.min(1, upper) };
}

/**
 * Newcombe's hybrid score interval for p1 − p2 (1998b, method 10): with Wilson limits (l1, u1) and
 * (l2, u2), lower = d − √((p1 − l1)² + (u2 − p2)²) and upper = d + √((u1 − p1)² + (p2 − l2)²).
 * Null when either group is empty.
 */
export function newcombeInterval(
  successes1: number,
  trials1: number,
  successes2: number,
  trials2: number,
  options: IntervalOptions = {},
): DifferenceInterval | null {
  checkCounts(successes1, trials1, 'successes1');
  checkCounts(successes2, trials2, 'successes2');
  const first = wilsonInterval(successes1, trials1, options);
  const second = wilsonInterval(successes2, trials2, options);
  if (!first || !second) return null;
  const p1 = successes1 / trials1;
  const p2 = successes2 / trials2;
  const difference = p1 - p2;
  return {
    difference,
    lower: difference - Math.hypot(p1 - first.lower, second.upper - p2),
    upper: difference + Math.hypot(first.upper - p1, p2 - second.lower),
  };
}

/**
 * The pooled two-proportion z-test of p1 = p2, two-sided: z = (p1 − p2) / √(p̄(1 − p̄)(1/n1 + 1/n2)) with
 * p̄ = (k1 + k2)/(n1 + n2), p = P(|Z| ≥ |z|). Null when a group is empty; when nobody (or everybody)
 * responded in both groups there is no difference to see: z = 0, p = 1.
 */
export function twoProportionZTest(
  successes1: number,
  trials1: number,
  successes2: number,
  trials2: number,
): { z: number; pValue: number } | null {
  checkCounts(successes1, trials1, 'successes1');
  checkCounts(successes2, trials2, 'successes2');
  if (trials1 === 0 || trials2 === 0) return null;
  const pooled = (successes1 + successes2) / (trials1 + trials2);
  const variance = pooled * (1 - pooled) * (1 / trials1 + 1 / trials2);
  if (variance === 0) return { z: 0, pValue: 1 };
  const z = (successes1 / trials1 - successes2 / trials2) / Math.sqrt(variance);
  return { z, pValue: Math.min(1, erfc(Math.abs(z) / Math.SQRT2)) };
}

/**
 * Relative lift p1/p2 − 1 ("B's response rate is 50 % higher than the holdout's"). Null when p2 = 0 or a
 * group is empty. No interval is given for it: the report's decisions use the absolute difference and its
 * Newcombe interval; a ratio's interval near a 0 holdout rate is unstable and would invite over-reading.
 */
export function relativeLift(
  successes1: number,
  trials1: number,
  successes2: number,
  trials2: number,
): number | null {
  if (trials1 === 0 || trials2 === 0 || successes2 === 0) return null;
  return successes1 / trials1 / (successes2 / trials2) - 1;
}

/** Count, sum and sum of squares of a per-recipient amount: enough for its mean and variance. */
export type Moments = { n: number; sum: number; sumOfSquares: number };

export function meanOf(moments: Moments): number | null {
  return moments.n === 0 ? null : moments.sum / moments.n;
}

/** The sample variance (n − 1 denominator); null below two observations. */
export function sampleVariance(moments: Moments): number | null {
  if (moments.n < 2) return null;
  const mean = moments.sum / moments.n;
  return Math.max(0, (moments.sumOfSquares - moments.n * mean * mean) / (moments.n - 1));
}

/**
 * Student's t quantile by the Cornish–Fisher expansion around the normal quantile (Abramowitz & Stegun
 * 26.7.5, four terms): within 1e-4 of the exact value from 10 degrees of freedom up, which the campaign
 * groups (hundreds of recipients) always have; infinite df is the normal quantile.
 */
export function studentTQuantile(p: number, df: number): number {
  const x = normalQuantile(p);
  if (!Number.isFinite(df)) return x;
  const x2 = x * x;
  const g1 = (x * (x2 + 1)) / 4;
  const g2 = (x * ((5 * x2 + 16) * x2 + 3)) / 96;
  const g3 = (x * (((3 * x2 + 19) * x2 + 17) * x2 - 15)) / 384;
  const g4 = (x * ((((79 * x2 + 776) * x2 + 1482) * x2 - 1920) * x2 - 945)) / 92160;
  return x + g1 / df + g2 / df ** 2 + g3 / df ** 3 + g4 / df ** 4;
}

/**
 * Welch's interval for mean1 − mean2 with unequal variances: se = √(s1²/n1 + s2²/n2), the
 * Welch–Satterthwaite degrees of freedom, ± t(df)·se. Null when a group has fewer than two observations.
 * When both variances are 0 (no one bought anything) the interval is the point itself.
 */
export function welchInterval(
  first: Moments,
  second: Moments,
  options: IntervalOptions = {},
): (DifferenceInterval & { degreesOfFreedom: number; standardError: number }) | null {
  const v1 = sampleVariance(first);
  const v2 = sampleVariance(second);
  const m1 = meanOf(first);
  const m2 = meanOf(second);
  if (v1 === null || v2 === null || m1 === null || m2 === null) return null;
  const a = v1 / first.n;
  const b = v2 / second.n;
  const difference = m1 - m2;
  const standardError = Math.sqrt(a + b);
  if (standardError === 0) {
    return {
      difference,
      lower: difference,
      upper: difference,
      degreesOfFreedom: Number.POSITIVE_INFINITY,
      standardError,
    };
  }
  const degreesOfFreedom = (a + b) ** 2 / (a ** 2 / (first.n - 1) + b ** 2 / (second.n - 1));
  const confidence = options.confidence ?? 0.95;
  const t = studentTQuantile(1 - (1 - confidence) / 2, degreesOfFreedom);
  return {
    difference,
    lower: difference - t * standardError,
    upper: difference + t * standardError,
    degreesOfFreedom,
    standardError,
  };
}
