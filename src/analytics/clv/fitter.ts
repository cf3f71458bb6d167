/**
 * The shared maximum-likelihood fitter of the CLV models (BG/NBD, Pareto/NBD, Gamma-Gamma, …).
 *
 * Every model file has the same shape (as in lifetimes): a parameters type, a log-likelihood, a fit and
 * predictions. The fit is always `fitPositiveParameters(negLogLik, start, options)` below: the model supplies
 * the total negative log-likelihood over its NATURAL (positive) parameters, starting values and optionally
 * an analytic gradient; this file does the rest:
 *
 * - bounds by reparameterisation: every parameter θ > 0 is optimised as u = log θ, so the optimiser is
 *   unconstrained and never proposes θ ≤ 0 (lifetimes does the same, fitting log-parameters);
 * - the objective is the MEAN negative log-likelihood per customer plus `penalizer · Σθ²` on the natural
 *   parameters. This is lifetimes' convention (`penalizer_coef`), so penalizer values carry over, and
 *   it makes the gradient tolerance independent of the number of customers;
 * - BFGS (Nocedal & Wright, Numerical Optimization, 2nd ed. 2006, Algorithm 6.1, update eq. 6.17, initial
 *   scaling eq. 6.20) with a backtracking line search under the Armijo condition (N&W Algorithm 3.1,
 *   eq. 3.4); gradient analytic when the model supplies it, otherwise central finite differences;
 * - standard errors from the inverse of the numerical Hessian of the total (unpenalised) negative
 *   log-likelihood at the estimate, i.e. the observed Fisher information (N&W §8.1 for the differences).
 *
 * A fit that does not converge throws `ModelFitError` (code 'model_did_not_converge') with its report, so
 * no caller can silently use parameters that are not a maximum of the likelihood.
 *
 * The per-customer input type `RfmData` and the grouping helper `groupRfm` live in ./rfm.ts.
 */
import { KizunaError } from '../../errors.ts';

/** How a minimisation ended. gradientNorm is the infinity norm of the gradient of the objective in u. */
export type FitReport = {
  converged: boolean;
  iterations: number;
  gradientNorm: number;
  /** The log-likelihood at the end: −objective for `minimize`, the total (unpenalised) one for a model fit. */
  logLikelihood: number;
  message: string;
};

export class ModelFitError extends KizunaError {
  readonly report: FitReport;

  constructor(message: string, report: FitReport) {
    // 422: the request was well-formed, but the data does not support the model (or the model diverged).
    super('model_did_not_converge', message, { status: 422 });
    this.name = 'ModelFitError';
    this.report = report;
  }
}

export type MinimizeOptions = {
  /** BFGS iterations (one line search each). Default 500. */
  maxIterations?: number;
  /** Converged when ‖∇f(u)‖∞ ≤ gradientTolerance. Default 1e-6. */
  gradientTolerance?: number;
  /** Analytic gradient in u; central finite differences when absent. */
  gradient?: (u: Float64Array) => Float64Array;
};

export type MinimizeResult = { x: Float64Array; report: FitReport };

/** Cube root of the machine epsilon: the step that balances truncation (h²) and rounding (ε/h) error. */
const CENTRAL_STEP = Math.cbrt(Number.EPSILON);
/** Fourth root of epsilon: the same balance for second differences (truncation h², rounding ε/h²). */
const HESSIAN_STEP = Math.sqrt(Math.sqrt(Number.EPSILON));

/**
 * Central-difference gradient, (f(u + h_i e_i) − f(u − h_i e_i)) / (2 h_i) with h_i = h · max(1, |u_i|)
 * (N&W eq. 8.7). Error O(h²) instead of O(h) for forward differences, which matters because BFGS stalls
 * on a noisy gradient near the optimum.
 */
export function numericalGradient(
  f: (u: Float64Array) => number,
  u: Float64Array,
  h: number = CENTRAL_STEP,
): Float64Array {
  const n = u.length;
  const gradient = new Float64Array(n);
  const probe = Float64Array.from(u);
  for (let i = 0; i < n; i++) {
    const ui = u[i]!;
    const step = h * Math.max(1, Math.abs(ui));
    probe[i] = ui + step;
    const plus = f(probe);
    probe[i] = ui - step;
    const minus = f(probe);
    probe[i] = ui;
    // Divide by the representable step, not the intended one (N&W §8.1: reduces rounding error).
    gradient[i] = (plus - minus) / (ui + step - (ui - step));
  }
  return gradient;
}

function infinityNorm(v: Float64Array): number {
  let m = 0;
  for (let i = 0; i < v.length; i++) m = Math.max(m, Math.abs(v[i]!));
  return m;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

function allFinite(v: Float64Array): boolean {
  for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i]!)) return false;
  return true;
}

function identity(n: number, scale = 1): Float64Array {
  const m = new Float64Array(n * n);
  for (let i = 0; i < n; i++) m[i * n + i] = scale;
  return m;
}

/** Armijo sufficient-decrease constant c1 (N&W eq. 3.4; 1e-4 is their recommended value). */
const ARMIJO_C1 = 1e-4;
const BACKTRACK_FACTOR = 0.5;
/** 2^-60 ≈ 1e-18 of the first step: beyond this the step no longer changes u in double precision. */
const MAX_BACKTRACKS = 60;

/**
 * Minimises `objective` over unconstrained u by BFGS with a backtracking Armijo line search. Non-finite
 * objective values during the line search count as "too far" and shrink the step, so an objective may
 * return Infinity/NaN outside its domain. Throws ModelFitError when the start is not finite, when
 * maxIterations is reached, or when no step decreases the objective while the gradient is not small.
 */
export function minimize(
  objective: (u: Float64Array) => number,
  start: Float64Array,
  options: MinimizeOptions = {},
): MinimizeResult {
  const n = start.length;
  const maxIterations = options.maxIterations ?? 500;
  const tolerance = options.gradientTolerance ?? 1e-6;
  const gradientOf = options.gradient ?? ((u: Float64Array) => numericalGradient(objective, u));

  let x = Float64Array.from(start);
  let fx = objective(x);
  let g = gradientOf(x);
  const report = (converged: boolean, iterations: number, message: string): FitReport => ({
    converged,
    iterations,
    gradientNorm: infinityNorm(g),
    logLikelihood: -fx,
    message,
  });
  if (!Number.isFinite(fx) || !allFinite(g)) {
    throw new ModelFitError(
      `objective or gradient is not finite at the starting values (f = ${fx})`,
      report(false, 0, 'non-finite objective or gradient at the start'),
    );
  }

  // H approximates the INVERSE Hessian, so the search direction is −H g without a linear solve.
  let H = identity(n);
  let firstUpdate = true;
  const direction = new Float64Array(n);
  const xNew = new Float64Array(n);

  /** Backtracking from step 1 along −H g until Armijo holds; writes the point to xNew. */
  function lineSearch(inverseHessian: Float64Array): { fNew: number } | null {
    for (let i = 0; i < n; i++) {
      let d = 0;
      for (let j = 0; j < n; j++) d -= inverseHessian[i * n + j]! * g[j]!;
      direction[i] = d;
    }
    let slope = dot(g, direction);
    if (!(slope < 0)) {
      // Not a descent direction (H lost positive definiteness numerically): use steepest descent.
      for (let i = 0; i < n; i++) direction[i] = -g[i]!;
      slope = dot(g, direction);
    }
    let step = 1;
    for (let k = 0; k < MAX_BACKTRACKS; k++) {
      for (let i = 0; i < n; i++) xNew[i] = x[i]! + step * direction[i]!;
      const fNew = objective(xNew);
      // Strict decrease too: near the optimum fx + c1·step·slope rounds to fx, and accepting fNew = fx
      // there would let the iteration wander on the noise floor without ever stopping.
      if (Number.isFinite(fNew) && fNew <= fx + ARMIJO_C1 * step * slope && fNew < fx) return { fNew };
      step *= BACKTRACK_FACTOR;
    }
    return null;
  }

  for (let iteration = 0; iteration < maxIterations; iteration++) {
    if (infinityNorm(g) <= tolerance) {
      return { x, report: report(true, iteration, 'converged: gradient below tolerance') };
    }

    let searched = lineSearch(H);
    if (searched === null && !firstUpdate) {
      // A stale BFGS matrix can point nearly uphill; restart from steepest descent once before giving up.
      H = identity(n);
      firstUpdate = true;
      searched = lineSearch(H);
    }
    if (searched === null) {
      // No step decreases f: we are at the resolution of f itself. With a finite-difference gradient
      // that happens a little above the tolerance; accept it there, fail clearly otherwise.
      const gradientNorm = infinityNorm(g);
      if (gradientNorm <= 1e3 * tolerance) {
        return {
          x,
          report: report(
            true,
            iteration,
            'converged: no further decrease possible at the gradient noise level',
          ),
        };
      }
      throw new ModelFitError(
        `line search failed: no step decreases the objective (gradient norm ${gradientNorm.toExponential(3)})`,
        report(false, iteration, 'line search failed'),
      );
    }

    const { fNew } = searched;
    const gNew = gradientOf(xNew);
    if (!allFinite(gNew)) {
      throw new ModelFitError('gradient is not finite', report(false, iteration, 'non-finite gradient'));
    }
    const s = new Float64Array(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      s[i] = xNew[i]! - x[i]!;
      y[i] = gNew[i]! - g[i]!;
    }
    const sy = dot(s, y);
    // The Armijo-only line search does not enforce the curvature condition sᵀy > 0 (N&W eq. 6.7); without
    // it the update would lose positive definiteness, so skip the update instead (N&W §6.1 "damping").
    if (sy > 1e-12 * Math.sqrt(dot(s, s) * dot(y, y))) {
      if (firstUpdate) {
        // N&W eq. 6.20: scale H0 = (sᵀy / yᵀy) I so the first step has the curvature's length scale.
        H = identity(n, sy / dot(y, y));
        firstUpdate = false;
      }
      H = bfgsUpdate(H, s, y, sy, n);
    }
    x = Float64Array.from(xNew);
    fx = fNew;
    g = gNew;
  }

  if (infinityNorm(g) <= tolerance) {
    return { x, report: report(true, maxIterations, 'converged: gradient below tolerance') };
  }
  throw new ModelFitError(
    `did not converge in ${maxIterations} iterations (gradient norm ${infinityNorm(g).toExponential(3)})`,
    report(false, maxIterations, 'maximum iterations reached'),
  );
}

/** H⁺ = (I − ρ s yᵀ) H (I − ρ y sᵀ) + ρ s sᵀ, ρ = 1/(yᵀs) (N&W eq. 6.17), expanded to avoid n³ products. */
function bfgsUpdate(H: Float64Array, s: Float64Array, y: Float64Array, sy: number, n: number): Float64Array {
  const rho = 1 / sy;
  const Hy = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let v = 0;
    for (let j = 0; j < n; j++) v += H[i * n + j]! * y[j]!;
    Hy[i] = v;
  }
  const yHy = dot(y, Hy);
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      // H symmetric, so (H y)_j = (yᵀ H)_j.
      out[i * n + j] =
        H[i * n + j]! - rho * (s[i]! * Hy[j]! + Hy[i]! * s[j]!) + (rho * rho * yHy + rho) * s[i]! * s[j]!;
    }
  }
  return out;
}

/**
 * Central-difference Hessian (N&W eqs. 8.21–8.22 with central instead of forward differences) with a
 * RELATIVE step h_i = h·|x_i| (or h when x_i = 0), so a positive parameter stays positive while probed.
 * Row-major n×n.
 */
export function numericalHessian(
  f: (x: Float64Array) => number,
  x: Float64Array,
  h: number = HESSIAN_STEP,
): Float64Array {
  const n = x.length;
  const H = new Float64Array(n * n);
  const steps = new Float64Array(n);
  for (let i = 0; i < n; i++) steps[i] = h * (x[i] === 0 ? 1 : Math.abs(x[i]!));
  const probe = Float64Array.from(x);
  const at = (i: number, di: number, j: number, dj: number): number => {
    probe.set(x);
    probe[i] = probe[i]! + di * steps[i]!;
    probe[j] = probe[j]! + dj * steps[j]!;
    return f(probe);
  };
  const f0 = f(x);
  for (let i = 0; i < n; i++) {
    const hi = steps[i]!;
    probe.set(x);
    probe[i] = x[i]! + hi;
    const plus = f(probe);
    probe[i] = x[i]! - hi;
    const minus = f(probe);
    H[i * n + i] = (plus - 2 * f0 + minus) / (hi * hi);
    for (let j = 0; j < i; j++) {
      const hj = steps[j]!;
      const v = (at(i, 1, j, 1) - at(i, 1, j, -1) - at(i, -1, j, 1) + at(i, -1, j, -1)) / (4 * hi * hj);
      H[i * n + j] = v;
      H[j * n + i] = v;
    }
  }
  return H;
}

/**
 * Hessian as the central-difference Jacobian of an analytic gradient, symmetrised (N&W §8.1, eq. 8.19 with
 * central differences): 2n gradient calls instead of 2n² function calls, and O(h²) error with h = ε^(1/3)
 * because only one difference is taken. Relative steps as in numericalHessian.
 */
export function hessianFromGradient(
  gradient: (x: Float64Array) => Float64Array,
  x: Float64Array,
  h: number = CENTRAL_STEP,
): Float64Array {
  const n = x.length;
  const H = new Float64Array(n * n);
  const probe = Float64Array.from(x);
  for (let j = 0; j < n; j++) {
    const hj = h * (x[j] === 0 ? 1 : Math.abs(x[j]!));
    probe[j] = x[j]! + hj;
    const plus = gradient(probe);
    probe[j] = x[j]! - hj;
    const minus = gradient(probe);
    probe[j] = x[j]!;
    for (let i = 0; i < n; i++) H[i * n + j] = (plus[i]! - minus[i]!) / (2 * hj);
  }
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < i; j++) {
      const v = 0.5 * (H[i * n + j]! + H[j * n + i]!);
      H[i * n + j] = v;
      H[j * n + i] = v;
    }
  }
  return H;
}

/**
 * Inverse of a symmetric positive-definite n×n matrix (row-major) by Cholesky, A = L Lᵀ, then A⁻¹ column
 * by column from L y = e_k, Lᵀ x = y (Golub & Van Loan, Matrix Computations, 4th ed., Algorithm 4.2.1).
 * Returns null when A is not positive definite — at an MLE that means a flat or non-identified direction.
 */
export function invertSymmetricPositiveDefinite(A: Float64Array, n: number): Float64Array | null {
  const L = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let d = A[j * n + j]!;
    for (let k = 0; k < j; k++) d -= L[j * n + k]! ** 2;
    if (!(d > 0) || !Number.isFinite(d)) return null;
    const ljj = Math.sqrt(d);
    L[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let v = A[i * n + j]!;
      for (let k = 0; k < j; k++) v -= L[i * n + k]! * L[j * n + k]!;
      L[i * n + j] = v / ljj;
    }
  }
  const inverse = new Float64Array(n * n);
  const y = new Float64Array(n);
  for (let col = 0; col < n; col++) {
    for (let i = 0; i < n; i++) {
      let v = i === col ? 1 : 0;
      for (let k = 0; k < i; k++) v -= L[i * n + k]! * y[k]!;
      y[i] = v / L[i * n + i]!;
    }
    for (let i = n - 1; i >= 0; i--) {
      let v = y[i]!;
      for (let k = i + 1; k < n; k++) v -= L[k * n + i]! * inverse[k * n + col]!;
      inverse[i * n + col] = v / L[i * n + i]!;
    }
  }
  return inverse;
}

/**
 * Asymptotic standard errors of the MLE: √diag(I(θ̂)⁻¹), I = the Hessian of the TOTAL negative
 * log-likelihood over the natural parameters at θ̂ (observed information), from second differences of
 * negLogLik or, when its analytic gradient is given, first differences of that. NaN for every parameter when
 * the Hessian is not positive definite, since then no parameter's error is meaningful.
 */
export function standardErrors(
  negLogLik: (params: Float64Array) => number,
  params: Float64Array,
  gradient?: (params: Float64Array) => Float64Array,
): Float64Array {
  const n = params.length;
  const hessian = gradient ? hessianFromGradient(gradient, params) : numericalHessian(negLogLik, params);
  const inverse = invertSymmetricPositiveDefinite(hessian, n);
  const se = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = inverse === null ? Number.NaN : inverse[i * n + i]!;
    se[i] = v > 0 ? Math.sqrt(v) : Number.NaN;
  }
  return se;
}

export type FitOptions = {
  /** L2 penalty penalizer·Σθ² on the natural parameters, added to the MEAN negative log-likelihood. */
  penalizer?: number;
  maxIterations?: number;
  gradientTolerance?: number;
};

export type PositiveFitProblem = {
  /** Total negative log-likelihood over the natural parameters (all > 0); may return Infinity/NaN. */
  negLogLik: (params: Float64Array) => number;
  /** Gradient of negLogLik over the natural parameters, when the model has it in closed form. */
  gradient?: (params: Float64Array) => Float64Array;
  /** Starting values of the natural parameters (all > 0). */
  start: Float64Array;
  /** The number of customers (Σ weight): the objective is negLogLik / customers, as lifetimes does. */
  customers: number;
  /** Parameter names, for error messages. */
  names: readonly string[];
};

export type PositiveFitResult = { params: Float64Array; report: FitReport; standardErrors: Float64Array };

/**
 * Maximum likelihood over positive parameters: minimises negLogLik(e^u)/customers + penalizer·Σ(e^u)² over
 * u, and returns θ̂ = e^û, the report (logLikelihood = the total unpenalised log-likelihood at θ̂) and the
 * standard errors of θ̂ (of the unpenalised likelihood: with a penalty they describe the likelihood's
 * curvature only, not the penalised estimator's sampling error).
 */
export function fitPositiveParameters(
  problem: PositiveFitProblem,
  options: FitOptions = {},
): PositiveFitResult {
  const { negLogLik, gradient, start, customers, names } = problem;
  const penalizer = options.penalizer ?? 0;
  if (!(customers > 0)) {
    throw new KizunaError('invalid_clv_data', 'cannot fit a model to zero customers');
  }
  if (!(penalizer >= 0)) throw new KizunaError('invalid_request', `penalizer must be ≥ 0, not ${penalizer}`);
  for (let i = 0; i < start.length; i++) {
    if (!(start[i]! > 0)) {
      throw new KizunaError('invalid_request', `starting value of ${names[i] ?? i} must be > 0`);
    }
  }
  const natural = (u: Float64Array): Float64Array => u.map(Math.exp);
  const objective = (u: Float64Array): number => {
    const theta = natural(u);
    let penalty = 0;
    for (let i = 0; i < theta.length; i++) penalty += theta[i]! * theta[i]!;
    return negLogLik(theta) / customers + penalizer * penalty;
  };
  const analytic =
    gradient === undefined
      ? undefined
      : (u: Float64Array): Float64Array => {
          const theta = natural(u);
          const g = gradient(theta);
          // Chain rule through θ = e^u: ∂/∂u = θ ∂/∂θ; penalty ∂(λθ²)/∂u = 2λθ².
          return g.map((gi, i) => theta[i]! * (gi / customers + 2 * penalizer * theta[i]!));
        };
  let result: MinimizeResult;
  try {
    result = minimize(objective, start.map(Math.log), {
      maxIterations: options.maxIterations,
      gradientTolerance: options.gradientTolerance,
      gradient: analytic,
    });
  } catch (error) {
    if (error instanceof ModelFitError) {
      // Report the total log-likelihood, as a successful fit does, rather than the per-customer objective.
      const report = { ...error.report, logLikelihood: error.report.logLikelihood * customers };
      throw new ModelFitError(`${names.join(', ')}: ${error.message}`, report);
    }
    throw error;
  }
  const params = natural(result.x);
  for (let i = 0; i < params.length; i++) {
    if (!Number.isFinite(params[i]!) || params[i]! <= 0) {
      throw new ModelFitError(`${names[i] ?? i} diverged to ${params[i]}`, {
        ...result.report,
        converged: false,
        message: 'parameter diverged',
      });
    }
  }
  const logLikelihood = -negLogLik(params);
  const se = standardErrors(negLogLik, params, gradient);
  // A singular information matrix at a converged point means the maximum is on the boundary (e.g. BG/NBD
  // with nobody dropping out: a → 0, b → ∞) or not identified. Predictions there are still the limit
  // model's, so this is reported rather than thrown; the NaN standard errors say the same to callers.
  const message = se.some(Number.isNaN)
    ? `${result.report.message}; information matrix not positive definite (estimate on a boundary or not identified), no standard errors`
    : result.report.message;
  return { params, report: { ...result.report, logLikelihood, message }, standardErrors: se };
}
