import digamma from '@stdlib/math-base-special-digamma';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../demo/index.ts';
import {
  fitPositiveParameters,
  hessianFromGradient,
  invertSymmetricPositiveDefinite,
  ModelFitError,
  minimize,
  numericalGradient,
  numericalHessian,
  standardErrors,
} from './fitter.ts';
import { lnGammaStirling } from './test-support.ts';

/** Rosenbrock's banana, minimum 0 at (1, 1): the classic test of a quasi-Newton method's curvature updates. */
const rosenbrock = (u: Float64Array): number => 100 * (u[1]! - u[0]! ** 2) ** 2 + (1 - u[0]!) ** 2;
const rosenbrockGradient = (u: Float64Array): Float64Array =>
  Float64Array.of(-400 * u[0]! * (u[1]! - u[0]! ** 2) - 2 * (1 - u[0]!), 200 * (u[1]! - u[0]! ** 2));

describe('minimize', () => {
  it('finds the Rosenbrock minimum from (−1.2, 1) with a finite-difference gradient', () => {
    const { x, report } = minimize(rosenbrock, Float64Array.of(-1.2, 1));
    expect(report.converged).toBe(true);
    expect(x[0]).toBeCloseTo(1, 5);
    expect(x[1]).toBeCloseTo(1, 5);
    expect(report.logLikelihood).toBeCloseTo(0, 9);
    expect(report.iterations).toBeLessThan(100);
  });

  it('finds it with the analytic gradient too', () => {
    const { x, report } = minimize(rosenbrock, Float64Array.of(-1.2, 1), {
      gradient: rosenbrockGradient,
      gradientTolerance: 1e-9,
    });
    expect(report.converged).toBe(true);
    expect(report.gradientNorm).toBeLessThanOrEqual(1e-9);
    expect(x[0]).toBeCloseTo(1, 8);
    expect(x[1]).toBeCloseTo(1, 8);
  });

  it('minimises a 10-dimensional Rosenbrock', () => {
    const f = (u: Float64Array): number => {
      let s = 0;
      for (let i = 0; i < u.length - 1; i++) s += 100 * (u[i + 1]! - u[i]! ** 2) ** 2 + (1 - u[i]!) ** 2;
      return s;
    };
    const { x } = minimize(f, new Float64Array(10).fill(-0.5), { maxIterations: 1000 });
    for (const xi of x) expect(xi).toBeCloseTo(1, 4);
  });

  it('throws ModelFitError with a report when it runs out of iterations', () => {
    let caught: unknown;
    try {
      minimize(rosenbrock, Float64Array.of(-1.2, 1), { maxIterations: 3 });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ModelFitError);
    const error = caught as ModelFitError;
    expect(error.code).toBe('model_did_not_converge');
    expect(error.report.converged).toBe(false);
    expect(error.report.iterations).toBe(3);
    expect(error.report.message).toBe('maximum iterations reached');
  });

  it('throws ModelFitError when the objective is not finite at the start', () => {
    expect(() => minimize(() => Number.NaN, Float64Array.of(0))).toThrow(ModelFitError);
  });

  it('throws when the objective is unbounded below (diverges)', () => {
    expect(() => minimize((u) => -Math.exp(u[0]!), Float64Array.of(0), { maxIterations: 200 })).toThrow(
      ModelFitError,
    );
  });

  it('treats non-finite values as a too-long step and backs off', () => {
    // −log(u) + u, minimum at u = 1; the first steepest-descent step from 5 would leave the domain u > 0.
    const f = (u: Float64Array): number => (u[0]! > 0 ? -Math.log(u[0]!) + u[0]! : Number.NaN);
    const { x } = minimize(f, Float64Array.of(0.05));
    expect(x[0]).toBeCloseTo(1, 6);
  });
});

describe('numerical derivatives', () => {
  it('central-difference gradient matches the analytic one to ~1e-9 relative', () => {
    const u = Float64Array.of(-0.7, 2.3);
    const numeric = numericalGradient(rosenbrock, u);
    const exact = rosenbrockGradient(u);
    for (let i = 0; i < 2; i++)
      expect(Math.abs(numeric[i]! - exact[i]!)).toBeLessThan(1e-6 * Math.abs(exact[i]!));
  });

  it('Hessian of a quadratic is its matrix', () => {
    // f = ½ xᵀ A x with A = [[4, 1, 0.5], [1, 3, 0.2], [0.5, 0.2, 2]].
    const A = [4, 1, 0.5, 1, 3, 0.2, 0.5, 0.2, 2];
    const f = (x: Float64Array): number => {
      let s = 0;
      for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) s += 0.5 * x[i]! * A[i * 3 + j]! * x[j]!;
      return s;
    };
    const H = numericalHessian(f, Float64Array.of(1.5, 0.3, 2));
    for (let k = 0; k < 9; k++) expect(H[k]).toBeCloseTo(A[k]!, 4);
  });

  it('Hessian from an analytic gradient matches the second-difference Hessian (Rosenbrock)', () => {
    const u = Float64Array.of(-0.7, 2.3);
    // Exact: [[1200u0² − 400u1 + 2, −400u0], [−400u0, 200]].
    const exact = [1200 * 0.49 - 400 * 2.3 + 2, 280, 280, 200];
    const fromGradient = hessianFromGradient(rosenbrockGradient, u);
    const fromValues = numericalHessian(rosenbrock, u);
    for (let k = 0; k < 4; k++) {
      expect(Math.abs(fromGradient[k]! - exact[k]!)).toBeLessThan(1e-6 * Math.abs(exact[k]!));
      expect(Math.abs(fromValues[k]! - exact[k]!)).toBeLessThan(1e-4 * Math.abs(exact[k]!));
    }
  });

  it('Cholesky inverse is the inverse; not positive definite gives null', () => {
    const A = Float64Array.of(4, 1, 0.5, 1, 3, 0.2, 0.5, 0.2, 2);
    const inverse = invertSymmetricPositiveDefinite(A, 3)!;
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        let s = 0;
        for (let k = 0; k < 3; k++) s += A[i * 3 + k]! * inverse[k * 3 + j]!;
        expect(s).toBeCloseTo(i === j ? 1 : 0, 12);
      }
    }
    expect(invertSymmetricPositiveDefinite(Float64Array.of(1, 2, 2, 1), 2)).toBeNull();
  });

  it('standard errors of a quadratic log-likelihood are √diag(A⁻¹)', () => {
    // Normal likelihood: −log L = ½ (θ − μ)ᵀ A (θ − μ), so Cov = A⁻¹.
    const A = [2, 0.5, 0.5, 1];
    const mu = [3, 7];
    const f = (x: Float64Array): number => {
      const d = [x[0]! - mu[0]!, x[1]! - mu[1]!];
      return 0.5 * (A[0]! * d[0]! ** 2 + 2 * A[1]! * d[0]! * d[1]! + A[3]! * d[1]! ** 2);
    };
    const se = standardErrors(f, Float64Array.of(3, 7));
    const det = A[0]! * A[3]! - A[1]! * A[2]!;
    expect(se[0]).toBeCloseTo(Math.sqrt(A[3]! / det), 6);
    expect(se[1]).toBeCloseTo(Math.sqrt(A[0]! / det), 6);
  });
});

describe('fitPositiveParameters: Gamma(shape k, rate β) maximum likelihood', () => {
  const trueShape = 2.5;
  const trueRate = 1.5;
  const n = 5000;
  const rng = new Rng(20260101, 1);
  const sample = Float64Array.from({ length: n }, () => rng.gamma(trueShape, trueRate));
  let sum = 0;
  let sumLog = 0;
  for (const v of sample) {
    sum += v;
    sumLog += Math.log(v);
  }
  const mean = sum / n;
  const meanLog = sumLog / n;
  // −log L = −Σ [k log β − lnΓ(k) + (k−1) log x − β x], through the sufficient statistics.
  const negLogLik = (theta: Float64Array): number => {
    const k = theta[0]!;
    const beta = theta[1]!;
    return -n * (k * Math.log(beta) - lnGammaStirling(k) + (k - 1) * meanLog - beta * mean);
  };

  // The known answer: the MLE of k solves log k − ψ(k) = log(mean) − mean(log x) (monotone in k), β̂ = k̂ / mean.
  const target = Math.log(mean) - meanLog;
  let lo = 1e-3;
  let hi = 1e3;
  for (let i = 0; i < 200; i++) {
    const mid = Math.sqrt(lo * hi);
    if (Math.log(mid) - digamma(mid) > target) lo = mid;
    else hi = mid;
  }
  const shapeHat = Math.sqrt(lo * hi);
  const rateHat = shapeHat / mean;

  it('matches the closed-form MLE and covers the truth within 3 SE', () => {
    const fit = fitPositiveParameters(
      { negLogLik, start: Float64Array.of(1, 1), customers: n, names: ['k', 'beta'] },
      { gradientTolerance: 1e-9 },
    );
    expect(fit.report.converged).toBe(true);
    expect(fit.params[0]! / shapeHat - 1).toBeLessThan(1e-6);
    expect(Math.abs(fit.params[1]! / rateHat - 1)).toBeLessThan(1e-6);
    expect(Math.abs(fit.report.logLikelihood + negLogLik(Float64Array.of(shapeHat, rateHat)))).toBeLessThan(
      1e-6,
    );
    expect(Math.abs(fit.params[0]! - trueShape)).toBeLessThan(3 * fit.standardErrors[0]!);
    expect(Math.abs(fit.params[1]! - trueRate)).toBeLessThan(3 * fit.standardErrors[1]!);
    // Fisher information of the Gamma: n [[ψ'(k), −1/β], [−1/β, k/β²]]; ψ' by a difference of ψ.
    const k = fit.params[0]!;
    const beta = fit.params[1]!;
    const trigamma = (digamma(k + 1e-5) - digamma(k - 1e-5)) / 2e-5;
    const det = trigamma * (k / beta ** 2) - 1 / beta ** 2;
    expect(fit.standardErrors[0]! / Math.sqrt(k / beta ** 2 / det / n)).toBeCloseTo(1, 4);
    expect(fit.standardErrors[1]! / Math.sqrt(trigamma / det / n)).toBeCloseTo(1, 4);
  });

  it('a penalty shrinks the parameters toward 0', () => {
    const plain = fitPositiveParameters({
      negLogLik,
      start: Float64Array.of(1, 1),
      customers: n,
      names: ['k', 'b'],
    });
    const penalised = fitPositiveParameters(
      { negLogLik, start: Float64Array.of(1, 1), customers: n, names: ['k', 'b'] },
      { penalizer: 0.1 },
    );
    expect(penalised.params[0]!).toBeLessThan(plain.params[0]!);
    expect(penalised.report.logLikelihood).toBeLessThan(plain.report.logLikelihood);
  });
});
