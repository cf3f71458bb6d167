/**
 * The Pareto/NBD model of repeat buying in a non-contractual setting (Schmittlein, Morrison & Colombo,
 * "Counting your customers: who are they and what will they do next?", Management Science 33(1), 1987;
 * hereafter SMC). While alive a customer buys as a Poisson process with rate λ; the lifetime is
 * Exponential(μ); across customers λ ~ Gamma(r, rate α) and μ ~ Gamma(s, rate β), independent.
 * Time unit: whatever the data uses (weeks in the literature).
 *
 * Sources of the formulas, cited per function below:
 * - FH05: Fader & Hardie, "A note on deriving the Pareto/NBD model and related expressions", Nov. 2005,
 *   brucehardie.com/notes/009 (§3 likelihood, §4 mean, §5 P(alive), §6 conditional expectation).
 * - FH14: Fader & Hardie, "Deriving the conditional PMF of the Pareto/NBD model", Jan. 2014,
 *   brucehardie.com/notes/028, whose eqs. (2), (3) and (9) restate FH05's results; we use its eq. (3),
 *   the likelihood written as a SUM of two positive terms instead of FH05's difference A0.
 * - A&S: Abramowitz & Stegun, Handbook of Mathematical Functions (1972), ch. 15, for 2F1.
 *
 * Same shape as the other models: parameters type, log-likelihood, fit, predictions.
 */
import gammaln from '@stdlib/math-base-special-gammaln';
import hyp2f1 from '@stdlib/math-base-special-hyp2f1';
import { KizunaError } from '../../errors.ts';
import { type FitOptions, type FitReport, fitPositiveParameters, ModelFitError } from './fitter.ts';
import { type CustomerHistories, type RfmData, totalWeight, validateRfm } from './rfm.ts';

export type ParetoNbdParams = { r: number; alpha: number; s: number; beta: number };

export type ParetoNbdFit = {
  params: ParetoNbdParams;
  report: FitReport;
  /** Asymptotic standard errors of the estimates (observed information); NaN when not identified. */
  standardErrors: ParetoNbdParams;
};

/** penalizer, maxIterations, gradientTolerance as in fitter.ts; `start` replaces the data-based starts. */
export type ParetoNbdFitOptions = FitOptions & { start?: ParetoNbdParams };

// ---------------------------------------------------------------------------------------------------------
// ln 2F1(a, b; a+1; z)
// ---------------------------------------------------------------------------------------------------------

/**
 * Gauss–Legendre nodes and weights on [−1, 1]: roots of P_n by Newton's method from the initial guesses
 * cos(π(i + ¾)/(n + ½)), weights 2/((1−x²)P_n'(x)²) (Press et al., Numerical Recipes 3rd ed., §4.6.1,
 * routine gauleg). Computed once rather than tabulated so no constant can be mistyped.
 */
function gaussLegendre(n: number): { nodes: Float64Array; weights: Float64Array } {
  const nodes = new Float64Array(n);
  const weights = new Float64Array(n);
  for (let i = 0; i < (n + 1) >> 1; i++) {
    let x = Math.cos((Math.PI * (i + 0.75)) / (n + 0.5));
    let derivative = 1;
    for (let iteration = 0; iteration < 100; iteration++) {
      let p1 = 1;
      let p2 = 0;
      for (let j = 0; j < n; j++) {
        const p3 = p2;
        p2 = p1;
        p1 = ((2 * j + 1) * x * p2 - j * p3) / (j + 1);
      }
      derivative = (n * (x * p1 - p2)) / (x * x - 1);
      const previous = x;
      x = previous - p1 / derivative;
      if (Math.abs(x - previous) <= 1e-15) break;
    }
    nodes[i] = -x;
    nodes[n - 1 - i] = x;
    const w = 2 / ((1 - x * x) * derivative * derivative);
    weights[i] = w;
    weights[n - 1 - i] = w;
  }
  return { nodes, weights };
}

const GAUSS_20 = gaussLegendre(20);

function gaussPanel(f: (v: number) => number, lo: number, hi: number): number {
  const half = (hi - lo) / 2;
  const mid = (hi + lo) / 2;
  let sum = 0;
  for (let i = 0; i < GAUSS_20.nodes.length; i++)
    sum += GAUSS_20.weights[i]! * f(mid + half * GAUSS_20.nodes[i]!);
  return sum * half;
}

/** Bisects until the two halves agree with the whole within `tolerance` (absolute). */
function adaptiveGauss(
  f: (v: number) => number,
  lo: number,
  hi: number,
  whole: number,
  tolerance: number,
  depth: number,
): number {
  const mid = (lo + hi) / 2;
  const left = gaussPanel(f, lo, mid);
  const right = gaussPanel(f, mid, hi);
  if (depth >= 40 || Math.abs(left + right - whole) <= tolerance) return left + right;
  return (
    adaptiveGauss(f, lo, mid, left, tolerance, depth + 1) +
    adaptiveGauss(f, mid, hi, right, tolerance, depth + 1)
  );
}

/**
 * ln 2F1(a, b; a+1; z) for a > 0, b ≥ 0, 0 ≤ z < 1 by quadrature of Euler's integral (A&S 15.3.1 with
 * the roles of a and b exchanged, c − a = 1): 2F1(a, b; a+1; z) = a ∫₀¹ u^(a−1) (1 − zu)^(−b) du.
 * Substituting u = e^(−v/a) removes the u^(a−1) singularity: = ∫₀^∞ e^(−v) (1 − z e^(−v/a))^(−b) dv.
 * The log-integrand h(v) = −v − b ln(1 − z e^(−v/a)) is decreasing with h' ≤ −1, so the integrand
 * scaled by e^(−h(0)) lies in (0, 1] and everything past V is at most e^(h(V)−h(0)), which bounds the
 * truncation. It decays on the scale 1/|h'(0)| = 1/(1 + (b/a)·z/(1−z)), tiny when z → 1 and b ≫ a; the
 * panels start at that scale and double, and each is refined adaptively.
 *
 * Slower than the series (hundreds of integrand evaluations, ~70 µs), so logHyp2f1Shifted uses it only
 * for z ≥ 0.99 and where stdlib fails; exported for tests. Against mpmath: within 4e-15 (relative, in the
 * log) over 6,000 random model-like (a, b, z) with 1 − z down to 1e-9.
 */
export function logHyp2f1ByQuadrature(a: number, b: number, z: number): number {
  if (!(a > 0 && b >= 0 && z >= 0 && z < 1)) return Number.NaN;
  if (z === 0 || b === 0) return 0;
  const oneMinusZ = 1 - z;
  // 1 − z e^(−v/a) = (1 − z)(1 + q) with q = −z·expm1(−v/a)/(1 − z) ≥ 0: no cancellation near z = 1.
  const scaled = (v: number): number => Math.exp(-v - b * Math.log1p((-z * Math.expm1(-v / a)) / oneMinusZ));
  const scale = 1 / (1 + (b / a) * (z / oneMinusZ));
  let total = 0;
  let lo = 0;
  let width = scale;
  for (let panel = 0; panel < 400; panel++) {
    const hi = lo + width;
    const estimate = gaussPanel(scaled, lo, hi);
    total += adaptiveGauss(scaled, lo, hi, estimate, 1e-15 * Math.max(total, estimate), 0);
    lo = hi;
    width *= 2;
    if (scaled(lo) <= 1e-17 * total) break;
  }
  return -b * Math.log1p(-z) + Math.log(total);
}

/**
 * Where stdlib's hyp2f1 stops being trustworthy. Below it, stdlib sums the plain series (z ≤ 0.9) or, past
 * 0.9, the series up to 10,000 terms before transforming; against mpmath (50 digits) over 6,000 random
 * model-like (a, b, z) it was within 1.2e-14 (relative, in the log) for z < 0.99. For z ≥ 0.99 it
 * returned values off by up to 1.7e-7 in the log (e.g. a = 161.7, b = 7.95, z = 0.9999996: 6e-5), from
 * cancellation in its 1−z transformations, with no way for a caller to see its internal error estimate.
 */
const STDLIB_Z_LIMIT = 0.99;

/**
 * ln 2F1(a, b; a+1; z) for a > 0, b ≥ 0, 0 ≤ z < 1 — the only form the Pareto/NBD likelihood needs.
 *
 * 1. z < 0.99: stdlib's hyp2f1 (a port of Cephes: the power series, with the 1−z transformations
 *    A&S 15.3.6 / 15.3.10–12 past z = 0.9 when the series is too slow), accurate to ~1e-14 there.
 * 2. If that overflows to Infinity (b large, i.e. x large in the β > α form: the value exceeds 1.8e308
 *    although its logarithm is perfectly finite) or is NaN: Euler's transformation (A&S 15.3.3) in
 *    log space, ln 2F1(a, b; c; z) = (c−a−b) ln(1−z) + ln 2F1(c−a, c−b; c; z), here 2F1(1, a+1−b; a+1; z),
 *    a moderate number since a+1−b is s or s+1 in the β > α form, however large x is. (Pfaff's
 *    transformation A&S 15.3.4, the other classical remedy, maps our z ∈ [0, 1) to z/(z−1) ≤ 0, where stdlib
 *    transforms it back; it is also exactly the α ↔ β swap of the likelihood's two forms, nothing new.)
 * 3. z ≥ 0.99, or both of the above not finite (z > 0.9 with a > ~170, where stdlib's series hits its
 *    10,000-term cap and its transformation multiplies by Γ(a+1) = Infinity, e.g. a = 400.2, b = 0.3,
 *    z = 0.999 → NaN): quadrature of Euler's integral (logHyp2f1ByQuadrature), ~1e-14 everywhere but
 *    ~300× slower than the series. z ≥ 0.99 needs |α−β| ≥ 0.99 (max(α, β) + t), i.e. one rate 100 times
 *    the other: the optimiser may probe there, fitted models do not (CDNOW: z < 0.1).
 */
export function logHyp2f1Shifted(a: number, b: number, z: number): number {
  if (z === 0 || b === 0) return 0;
  if (z < STDLIB_Z_LIMIT) {
    const direct = hyp2f1(a, b, a + 1, z);
    if (direct > 0 && Number.isFinite(direct)) return Math.log(direct);
    // Only with c − b = a + 1 − b > 0 (always so in the likelihood): then every term of the series is
    // positive and nothing cancels; otherwise the quadrature, which needs no such condition.
    if (a + 1 - b > 0) {
      const euler = hyp2f1(1, a + 1 - b, a + 1, z);
      if (euler > 0 && Number.isFinite(euler)) return (1 - b) * Math.log1p(-z) + Math.log(euler);
    }
  }
  return logHyp2f1ByQuadrature(a, b, z);
}

// ---------------------------------------------------------------------------------------------------------
// Likelihood
// ---------------------------------------------------------------------------------------------------------

function logAddExp(u: number, v: number): number {
  const m = Math.max(u, v);
  if (m === Number.NEGATIVE_INFINITY) return m;
  return m + Math.log(Math.exp(u - m) + Math.exp(v - m));
}

/**
 * ln of the bracket B(x, t_x, T) in L = C · B with C = Γ(r+x) α^r β^s / Γ(r) (FH14 eq. 3):
 *
 *   B = s/(r+s+x) · 2F1(r+s+x, b₁; r+s+x+1; z(t_x)) / (m + t_x)^(r+s+x)
 *     + (r+x)/(r+s+x) · 2F1(r+s+x, b₂; r+s+x+1; z(T)) / (m + T)^(r+s+x),
 *
 * with m = max(α, β), z(t) = |α−β| / (m + t) ∈ [0, 1), and (b₁, b₂) = (s+1, s) when α ≥ β,
 * (r+x, r+x+1) when α < β (FH05 §3, whose A0 uses the larger of α, β so that the series converges).
 *
 * Why this form: FH05 writes B = 1/((α+T)^(r+x)(β+T)^s) + s/(r+s+x) · A0 with A0 a DIFFERENCE of the
 * t_x and T terms, which cancels when t_x ≈ T. Both forms are ∫ representations of the same thing:
 * B = s ∫_{t_x}^∞ (α+τ)^(−(r+x)) (β+τ)^(−(s+1)) dτ + (r+x) ∫_T^∞ (α+τ)^(−(r+x+1)) (β+τ)^(−s) dτ (the
 * second from FH05's first term and the T part of A0 by parts), and ∫_t^∞ (α+τ)^(−p) (β+τ)^(−q) dτ =
 * (α+t)^(1−p−q)/(p+q−1) · 2F1(p+q−1, q; p+q; (α−β)/(α+t)) (substitute u = (α+t)/(α+τ), then A&S
 * 15.3.1); Pfaff's transformation (A&S 15.3.4) turns it into the (β+t) form with b = p. Two positive
 * terms: combined with log-sum-exp, no cancellation anywhere.
 *
 * α = β: z = 0 and every 2F1 is 1 (FH05's limit form), which logHyp2f1Shifted returns exactly.
 */
function logBracket(
  r: number,
  alpha: number,
  s: number,
  beta: number,
  x: number,
  tx: number,
  T: number,
): number {
  const form = bracketForm(alpha, beta);
  return logAddExp(recencyTerm(r, s, form, x, tx), ageTerm(r, s, form, x, T));
}

/** Which of FH05's two forms applies: m = max(α, β), d = |α − β|, and whether b uses s (α ≥ β) or r+x. */
type BracketForm = { m: number; d: number; alphaLarger: boolean };

function bracketForm(alpha: number, beta: number): BracketForm {
  return alpha >= beta
    ? { m: alpha, d: alpha - beta, alphaLarger: true }
    : { m: beta, d: beta - alpha, alphaLarger: false };
}

/** ln[s/(r+s+x) · 2F1(r+s+x, b₁; r+s+x+1; d/(m+t_x)) / (m+t_x)^(r+s+x)], the first term of B. */
function recencyTerm(r: number, s: number, form: BracketForm, x: number, tx: number): number {
  const a = r + s + x;
  const b1 = form.alphaLarger ? s + 1 : r + x;
  const t = form.m + tx;
  return Math.log(s / a) + logHyp2f1Shifted(a, b1, form.d / t) - a * Math.log(t);
}

/** ln[(r+x)/(r+s+x) · 2F1(r+s+x, b₂; r+s+x+1; d/(m+T)) / (m+T)^(r+s+x)], the second term of B. */
function ageTerm(r: number, s: number, form: BracketForm, x: number, T: number): number {
  const a = r + s + x;
  const b2 = form.alphaLarger ? s : r + x + 1;
  const t = form.m + T;
  return Math.log((r + x) / a) + logHyp2f1Shifted(a, b2, form.d / t) - a * Math.log(t);
}

/** ln C = ln Γ(r+x) − ln Γ(r) + r ln α + s ln β (FH14 eq. 3). */
function logConstant(r: number, alpha: number, s: number, beta: number, x: number): number {
  return gammaln(r + x) - gammaln(r) + r * Math.log(alpha) + s * Math.log(beta);
}

/**
 * ln L(r, α, s, β | x, t_x, T) of one customer: the individual likelihood λ^x e^{−(λ+μ)T} +
 * λ^x μ/(λ+μ) [e^{−(λ+μ)t_x} − e^{−(λ+μ)T}] (FH05 §2 / FH14 eq. 2) integrated over the gamma mixing
 * distributions, in closed form (FH05 §3; FH14 eq. 3, see logBracket). NaN for invalid parameters.
 */
export function logLikelihoodCustomer(params: ParetoNbdParams, x: number, tx: number, T: number): number {
  const { r, alpha, s, beta } = params;
  if (!(r > 0 && alpha > 0 && s > 0 && beta > 0)) return Number.NaN;
  return logConstant(r, alpha, s, beta, x) + logBracket(r, alpha, s, beta, x, tx, T);
}

/**
 * The data indexed for repeated likelihood evaluations. In B (see logBracket) the t_x term depends on the
 * row only through (x, t_x) and the T term only through (x, T); with times on a day grid, a million
 * customers have ~300,000 distinct (x, t_x, T) rows but only tens of thousands of distinct (x, t_x) and
 * (x, T) pairs, so each 2F1 is evaluated once per pair instead of once per row (≈ 5× fewer calls).
 */
type IndexedRfm = {
  /** Distinct frequencies. */
  xs: Float64Array;
  recencyX: Float64Array;
  recencyTime: Float64Array;
  ageX: Float64Array;
  ageTime: Float64Array;
  rowX: Uint32Array;
  rowRecency: Uint32Array;
  rowAge: Uint32Array;
  weight: Float64Array;
};

function indexRfm(data: RfmData): IndexedRfm {
  const n = data.frequency.length;
  const xIndex = new Map<number, number>();
  const recencyIndex = new Map<string, number>();
  const ageIndex = new Map<string, number>();
  const xs: number[] = [];
  const recencyX: number[] = [];
  const recencyTime: number[] = [];
  const ageX: number[] = [];
  const ageTime: number[] = [];
  const rowX = new Uint32Array(n);
  const rowRecency = new Uint32Array(n);
  const rowAge = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const x = data.frequency[i]!;
    const tx = data.recency[i]!;
    const T = data.T[i]!;
    let xi = xIndex.get(x);
    if (xi === undefined) {
      xi = xs.length;
      xIndex.set(x, xi);
      xs.push(x);
    }
    rowX[i] = xi;
    const recencyKey = `${x}|${tx}`;
    let ri = recencyIndex.get(recencyKey);
    if (ri === undefined) {
      ri = recencyX.length;
      recencyIndex.set(recencyKey, ri);
      recencyX.push(x);
      recencyTime.push(tx);
    }
    rowRecency[i] = ri;
    const ageKey = `${x}|${T}`;
    let ai = ageIndex.get(ageKey);
    if (ai === undefined) {
      ai = ageX.length;
      ageIndex.set(ageKey, ai);
      ageX.push(x);
      ageTime.push(T);
    }
    rowAge[i] = ai;
  }
  return {
    xs: Float64Array.from(xs),
    recencyX: Float64Array.from(recencyX),
    recencyTime: Float64Array.from(recencyTime),
    ageX: Float64Array.from(ageX),
    ageTime: Float64Array.from(ageTime),
    rowX,
    rowRecency,
    rowAge,
    weight: data.weight,
  };
}

/** Σ weight · ln L over indexed rows; the same terms as logLikelihoodCustomer, shared across rows. */
function indexedLogLikelihood(params: ParetoNbdParams, data: IndexedRfm): number {
  const { r, alpha, s, beta } = params;
  if (!(r > 0 && alpha > 0 && s > 0 && beta > 0)) return Number.NaN;
  const form = bracketForm(alpha, beta);
  const constants = data.xs.map((x) => logConstant(r, alpha, s, beta, x));
  const recencyTerms = new Float64Array(data.recencyX.length);
  for (let k = 0; k < recencyTerms.length; k++) {
    recencyTerms[k] = recencyTerm(r, s, form, data.recencyX[k]!, data.recencyTime[k]!);
  }
  const ageTerms = new Float64Array(data.ageX.length);
  for (let k = 0; k < ageTerms.length; k++)
    ageTerms[k] = ageTerm(r, s, form, data.ageX[k]!, data.ageTime[k]!);
  let total = 0;
  for (let i = 0; i < data.weight.length; i++) {
    total +=
      data.weight[i]! *
      (constants[data.rowX[i]!]! + logAddExp(recencyTerms[data.rowRecency[i]!]!, ageTerms[data.rowAge[i]!]!));
  }
  return total;
}

/** Σ weight · ln L over the rows of grouped data: the log-likelihood the fit maximises. */
export function logLikelihood(params: ParetoNbdParams, data: RfmData): number {
  return indexedLogLikelihood(params, indexRfm(data));
}

// ---------------------------------------------------------------------------------------------------------
// Fit
// ---------------------------------------------------------------------------------------------------------

const NAMES = ['r', 'alpha', 's', 'beta'] as const;

const toParams = (theta: Float64Array): ParetoNbdParams => ({
  r: theta[0]!,
  alpha: theta[1]!,
  s: theta[2]!,
  beta: theta[3]!,
});

/**
 * Starting values from the data's scale, so the fit does not depend on the time unit: the gamma means
 * r/α = E[λ] and s/β = E[μ] are set to the pooled purchase rate (Σx + 1)/ΣT (the +1 keeps α finite when
 * nobody repeats) and to one lifetime per mean observation length; shapes 0.8, non-integer so stdlib's
 * hyp2f1 starts in its generic branch rather than the integer c−a−b special case.
 */
function startingValues(data: RfmData): Float64Array[] {
  let purchases = 0;
  let exposure = 0;
  let customers = 0;
  for (let i = 0; i < data.frequency.length; i++) {
    purchases += data.weight[i]! * data.frequency[i]!;
    exposure += data.weight[i]! * data.T[i]!;
    customers += data.weight[i]!;
  }
  const rate = (purchases + 1) / exposure;
  const meanT = exposure / customers;
  const shape = 0.8;
  return [
    Float64Array.of(shape, shape / rate, shape, shape * meanT),
    // A second start with more heterogeneity in λ and shorter lifetimes, used only if the first fails.
    Float64Array.of(0.3, 0.3 / rate, 1.5, 0.5 * meanT),
  ];
}

/**
 * Maximum-likelihood fit by the shared BFGS fitter over log-parameters (fitter.ts), objective the mean
 * negative log-likelihood plus penalizer·Σθ² (lifetimes' convention). Gradients are central differences:
 * the derivatives of 2F1 in its parameters have no convenient closed form. Throws ModelFitError when no
 * start converges.
 */
export function fitParetoNbd(data: RfmData, options: ParetoNbdFitOptions = {}): ParetoNbdFit {
  validateRfm(data);
  const { start, ...fitOptions } = options;
  const customers = totalWeight(data.weight);
  const indexed = indexRfm(data);
  const negLogLik = (theta: Float64Array): number => -indexedLogLikelihood(toParams(theta), indexed);
  const starts =
    start === undefined ? startingValues(data) : [Float64Array.of(start.r, start.alpha, start.s, start.beta)];
  let lastError: unknown;
  for (const startVector of starts) {
    try {
      const result = fitPositiveParameters(
        { negLogLik, start: startVector, customers, names: NAMES },
        fitOptions,
      );
      return {
        params: toParams(result.params),
        report: result.report,
        standardErrors: toParams(result.standardErrors),
      };
    } catch (error) {
      if (!(error instanceof ModelFitError)) throw error;
      lastError = error;
    }
  }
  throw lastError;
}

// ---------------------------------------------------------------------------------------------------------
// Predictions
// ---------------------------------------------------------------------------------------------------------

function checkParams({ r, alpha, s, beta }: ParetoNbdParams): void {
  for (const [name, value] of [
    ['r', r],
    ['alpha', alpha],
    ['s', s],
    ['beta', beta],
  ] as const) {
    if (!(value > 0 && Number.isFinite(value))) {
      throw new KizunaError('invalid_request', `Pareto/NBD parameter ${name} must be positive, not ${value}`);
    }
  }
}

/**
 * (1 − e^{−y})/y, continuous at y = 0 where it is 1. The expectations below divide 1 − (·)^(s−1) by s − 1,
 * a removable singularity at s = 1 where they become logarithms; with y = (s−1)·ln(1 + t/(β+T)) this
 * evaluates them without cancellation for s near 1.
 */
function oneMinusExpNegOver(y: number): number {
  return y === 0 ? 1 : -Math.expm1(-y) / y;
}

function checkHorizon(t: number): void {
  if (!(t >= 0)) throw new KizunaError('invalid_request', `prediction horizon t must be ≥ 0, not ${t}`);
}

/**
 * P(alive at T | x, t_x, T) = C / ((α+T)^(r+x) (β+T)^s · L) (FH14 eq. 9, from FH05 §5; SMC derive it in
 * another form). With L = C·B this is exp(−(r+x) ln(α+T) − s ln(β+T) − ln B). B ≥ the numerator analytically
 * (the difference is s ∫_{t_x}^T … ≥ 0), so the result is clamped to 1 against rounding; t_x = T gives 1.
 */
export function probabilityAlive(params: ParetoNbdParams, x: number, tx: number, T: number): number {
  checkParams(params);
  return probabilityAliveUnchecked(params, x, tx, T);
}

function probabilityAliveUnchecked(
  { r, alpha, s, beta }: ParetoNbdParams,
  x: number,
  tx: number,
  T: number,
): number {
  const logAlive =
    -(r + x) * Math.log(alpha + T) - s * Math.log(beta + T) - logBracket(r, alpha, s, beta, x, tx, T);
  return Math.min(1, Math.exp(logAlive));
}

/**
 * E[X(t)] for a customer just acquired: rβ/(α(s−1)) · [1 − (β/(β+t))^(s−1)] (FH05 §4; also in SMC),
 * with the s = 1 limit (r/α) β ln(1 + t/β).
 */
export function expectedPurchasesNew(params: ParetoNbdParams, t: number): number {
  checkParams(params);
  checkHorizon(t);
  const { r, alpha, s, beta } = params;
  const horizon = Math.log1p(t / beta);
  return (r / alpha) * beta * horizon * oneMinusExpNegOver((s - 1) * horizon);
}

/**
 * E[Y(t) | x, t_x, T], the expected purchases in (T, T+t] of a customer with that history (FH05 §6,
 * SMC's conditional expectation):
 *   (r+x)(β+T) / ((α+T)(s−1)) · [1 − ((β+T)/(β+T+t))^(s−1)] · P(alive | x, t_x, T).
 * Given alive at T the customer's λ, μ are Gamma(r+x, α+T), Gamma(s, β+T), hence the first factor.
 */
export function expectedPurchases(
  params: ParetoNbdParams,
  t: number,
  x: number,
  tx: number,
  T: number,
): number {
  checkParams(params);
  checkHorizon(t);
  return expectedPurchasesUnchecked(params, t, x, tx, T);
}

function expectedPurchasesUnchecked(
  params: ParetoNbdParams,
  t: number,
  x: number,
  tx: number,
  T: number,
): number {
  const { r, alpha, s, beta } = params;
  const horizon = Math.log1p(t / (beta + T));
  const ifAlive = ((r + x) / (alpha + T)) * (beta + T) * horizon * oneMinusExpNegOver((s - 1) * horizon);
  return ifAlive * probabilityAliveUnchecked(params, x, tx, T);
}

/** probabilityAlive per row. */
export function probabilityAliveVector(params: ParetoNbdParams, data: CustomerHistories): Float64Array {
  checkParams(params);
  const out = new Float64Array(data.frequency.length);
  for (let i = 0; i < out.length; i++) {
    out[i] = probabilityAliveUnchecked(params, data.frequency[i]!, data.recency[i]!, data.T[i]!);
  }
  return out;
}

/** expectedPurchases per row, over the same horizon t. */
export function expectedPurchasesVector(
  params: ParetoNbdParams,
  t: number,
  data: CustomerHistories,
): Float64Array {
  checkParams(params);
  checkHorizon(t);
  const out = new Float64Array(data.frequency.length);
  for (let i = 0; i < out.length; i++) {
    out[i] = expectedPurchasesUnchecked(params, t, data.frequency[i]!, data.recency[i]!, data.T[i]!);
  }
  return out;
}

/** expectedPurchasesNew per horizon. */
export function expectedPurchasesNewVector(params: ParetoNbdParams, t: Float64Array): Float64Array {
  return t.map((ti) => expectedPurchasesNew(params, ti));
}
