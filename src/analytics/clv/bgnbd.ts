/**
 * BG/NBD, the beta-geometric / negative-binomial model of repeat buying: Fader, Hardie & Lee (2005),
 * "'Counting your customers' the easy way: an alternative to the Pareto/NBD model", Marketing Science
 * 24(2), 275–284 (FHL 2005 below). Assumptions (§3): while alive a customer buys as a Poisson process with
 * rate λ ~ Gamma(r, rate α); after each REPEAT purchase they drop out with probability p ~ Beta(a, b).
 *
 * Shape (as every model here): parameters type, log-likelihood, fit (through ./fitter.ts), predictions.
 * Time unit: whatever the data's (x, t_x, T) use; predictions' t is in that unit too.
 */
import betaln from '@stdlib/math-base-special-betaln';
import digamma from '@stdlib/math-base-special-digamma';
import gammaln from '@stdlib/math-base-special-gammaln';
import hyp2f1 from '@stdlib/math-base-special-hyp2f1';
import { KizunaError } from '../../errors.ts';
import { type FitOptions, type FitReport, fitPositiveParameters } from './fitter.ts';
import { type CustomerHistories, type RfmData, totalWeight, validateRfm } from './rfm.ts';

export type BgNbdParams = { r: number; alpha: number; a: number; b: number };

export type BgNbdFit = {
  params: BgNbdParams;
  report: FitReport;
  /** Asymptotic standard errors of each parameter (NaN when the information matrix is singular). */
  standardErrors: BgNbdParams;
};

const NAMES = ['r', 'alpha', 'a', 'b'] as const;

const toVector = (p: BgNbdParams): Float64Array => Float64Array.of(p.r, p.alpha, p.a, p.b);
const fromVector = (v: Float64Array): BgNbdParams => ({ r: v[0]!, alpha: v[1]!, a: v[2]!, b: v[3]! });

/**
 * ln L of one customer, FHL 2005 eq. (6):
 *   L = B(a, b+x)/B(a, b) · Γ(r+x) α^r / Γ(r) · (α+T)^−(r+x)
 *     + δ_{x>0} · B(a+1, b+x−1)/B(a, b) · Γ(r+x) α^r / Γ(r) · (α+t_x)^−(r+x).
 * The common factor is taken out in logs and the two remaining terms are added by log-sum-exp, because
 * for frequent customers (α+T)^−(r+x) underflows double precision long before the likelihood is small.
 * B(a+1, b+x−1) = B(a, b+x) · a/(b+x−1) (from B(u, v) = Γ(u)Γ(v)/Γ(u+v)), which saves a betaln.
 */
export function logLikelihoodCustomer(params: BgNbdParams, x: number, tx: number, T: number): number {
  const { r, alpha, a, b } = params;
  const common = gammaln(r + x) - gammaln(r) + r * Math.log(alpha) + betaln(a, b + x) - betaln(a, b);
  const u1 = -(r + x) * Math.log(alpha + T);
  if (x === 0) return common + u1;
  const u2 = Math.log(a) - Math.log(b + x - 1) - (r + x) * Math.log(alpha + tx);
  const m = Math.max(u1, u2);
  return common + m + Math.log(Math.exp(u1 - m) + Math.exp(u2 - m));
}

/**
 * The data prepared once per fit: the terms of eq. (6) that depend on a customer only through x are
 * computed once per DISTINCT x per evaluation (a few hundred values even for millions of customers), so an
 * evaluation costs two logs and two exps per row.
 */
type Prepared = {
  data: RfmData;
  distinctX: Float64Array;
  /** Row i's x is distinctX[xIndex[i]]. */
  xIndex: Uint32Array;
  customers: number;
};

function prepare(data: RfmData): Prepared {
  validateRfm(data);
  const positions = new Map<number, number>();
  const distinct: number[] = [];
  const xIndex = new Uint32Array(data.frequency.length);
  for (let i = 0; i < data.frequency.length; i++) {
    const x = data.frequency[i]!;
    let k = positions.get(x);
    if (k === undefined) {
      k = distinct.length;
      positions.set(x, k);
      distinct.push(x);
    }
    xIndex[i] = k;
  }
  return { data, distinctX: Float64Array.from(distinct), xIndex, customers: totalWeight(data.weight) };
}

/**
 * Total weighted ln L and, when asked, its gradient over (r, α, a, b). The gradient differentiates eq. (6)
 * term by term with ψ = Γ'/Γ: with w1, w2 the shares of the two terms in the log-sum-exp,
 *   ∂/∂r = ψ(r+x) − ψ(r) + ln α − w1 ln(α+T) − w2 ln(α+t_x)
 *   ∂/∂α = r/α − (r+x) (w1/(α+T) + w2/(α+t_x))
 *   ∂/∂a = ψ(a+b) − ψ(a+b+x) + w2/a
 *   ∂/∂b = ψ(b+x) − ψ(a+b+x) − ψ(b) + ψ(a+b) − w2/(b+x−1).
 */
function evaluate(prepared: Prepared, theta: Float64Array, gradient: Float64Array | null): number {
  const r = theta[0]!;
  const alpha = theta[1]!;
  const a = theta[2]!;
  const b = theta[3]!;
  const { distinctX, xIndex, data } = prepared;
  const { frequency, recency, T, weight } = data;
  const k = distinctX.length;
  const commonByX = new Float64Array(k);
  const logSecondByX = new Float64Array(k);
  const dCommonR = new Float64Array(k);
  const dCommonA = new Float64Array(k);
  const dCommonB = new Float64Array(k);
  const lnAlpha = Math.log(alpha);
  const lgR = gammaln(r);
  const lbAB = betaln(a, b);
  const psiR = gradient ? digamma(r) : 0;
  const psiB = gradient ? digamma(b) : 0;
  const psiAB = gradient ? digamma(a + b) : 0;
  for (let j = 0; j < k; j++) {
    const x = distinctX[j]!;
    commonByX[j] = gammaln(r + x) - lgR + r * lnAlpha + betaln(a, b + x) - lbAB;
    logSecondByX[j] = x > 0 ? Math.log(a) - Math.log(b + x - 1) : Number.NEGATIVE_INFINITY;
    if (gradient) {
      const psiABX = digamma(a + b + x);
      dCommonR[j] = digamma(r + x) - psiR + lnAlpha;
      dCommonA[j] = psiAB - psiABX;
      dCommonB[j] = digamma(b + x) - psiABX - psiB + psiAB;
    }
  }
  let total = 0;
  let gR = 0;
  let gAlpha = 0;
  let gA = 0;
  let gB = 0;
  for (let i = 0; i < frequency.length; i++) {
    const j = xIndex[i]!;
    const x = frequency[i]!;
    const w = weight[i]!;
    const logAT = Math.log(alpha + T[i]!);
    const u1 = -(r + x) * logAT;
    let ll: number;
    let w2 = 0;
    let logATx = 0;
    if (x === 0) {
      ll = commonByX[j]! + u1;
    } else {
      logATx = Math.log(alpha + recency[i]!);
      const u2 = logSecondByX[j]! - (r + x) * logATx;
      const m = Math.max(u1, u2);
      const e1 = Math.exp(u1 - m);
      const e2 = Math.exp(u2 - m);
      ll = commonByX[j]! + m + Math.log(e1 + e2);
      w2 = e2 / (e1 + e2);
    }
    total += w * ll;
    if (gradient) {
      const w1 = 1 - w2;
      gR += w * (dCommonR[j]! - w1 * logAT - w2 * logATx);
      gAlpha += w * (r / alpha - (r + x) * (w1 / (alpha + T[i]!) + (x > 0 ? w2 / (alpha + recency[i]!) : 0)));
      gA += w * (dCommonA[j]! + w2 / a);
      gB += w * (dCommonB[j]! - (x > 0 ? w2 / (b + x - 1) : 0));
    }
  }
  if (gradient) {
    gradient[0] = gR;
    gradient[1] = gAlpha;
    gradient[2] = gA;
    gradient[3] = gB;
  }
  return total;
}

/** Total weighted log-likelihood Σ weight · ln L (FHL 2005 eq. 6) of the grouped data. */
export function logLikelihood(params: BgNbdParams, data: RfmData): number {
  return evaluate(prepare(data), toVector(params), null);
}

/** ∂ ln L / ∂(r, α, a, b) in that order, analytic (see `evaluate`); exported for the gradient check. */
export function logLikelihoodGradient(params: BgNbdParams, data: RfmData): Float64Array {
  const g = new Float64Array(4);
  evaluate(prepare(data), toVector(params), g);
  return g;
}

export type BgNbdFitOptions = FitOptions & { start?: BgNbdParams };

/**
 * Maximum-likelihood fit. Starting values r = a = b = 1 (lifetimes starts every parameter near 1, at
 * log-parameter 0.1) and α = mean T / mean number of purchase occasions (x + 1), a rough inter-purchase
 * time: α is the scale of the purchase rate in the data's time unit, so this starts the fit equally well
 * whether the data are in days or weeks.
 */
export function fitBgNbd(data: RfmData, options: BgNbdFitOptions = {}): BgNbdFit {
  const prepared = prepare(data);
  let sumT = 0;
  let sumOccasions = 0;
  for (let i = 0; i < data.T.length; i++) {
    sumT += data.weight[i]! * data.T[i]!;
    sumOccasions += data.weight[i]! * (data.frequency[i]! + 1);
  }
  const start = options.start ?? { r: 1, alpha: Math.max(sumT / sumOccasions, 1e-3), a: 1, b: 1 };
  const fit = fitPositiveParameters(
    {
      negLogLik: (theta) => -evaluate(prepared, theta, null),
      gradient: (theta) => {
        const g = new Float64Array(4);
        evaluate(prepared, theta, g);
        return g.map((v) => -v);
      },
      start: toVector(start),
      customers: prepared.customers,
      names: NAMES,
    },
    options,
  );
  return {
    params: fromVector(fit.params),
    report: fit.report,
    standardErrors: fromVector(fit.standardErrors),
  };
}

function checkParams({ r, alpha, a, b }: BgNbdParams): void {
  if (!(r > 0 && alpha > 0 && a > 0 && b > 0)) {
    throw new KizunaError('invalid_request', 'BG/NBD parameters r, alpha, a, b must all be positive');
  }
  if (a === 1) {
    // E[X(t)] has the factor 1/(a−1) (eqs. 7, 10); its limit exists but these formulas cannot evaluate it.
    throw new KizunaError('invalid_request', 'BG/NBD expectations are not defined by eqs. 7/10 at a = 1');
  }
}

/**
 * The bracket of eqs. (7) and (10) divided by (a−1), times (a+b+x−1):
 *   (a+b+x−1)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) · 2F1(r+x, b+x; a+b+x−1; z)],  z = t/(α+T+t).
 * Evaluated after Euler's transformation 2F1(A, B; C; z) = (1−z)^(C−A−B) 2F1(C−A, C−B; C; z)
 * (Abramowitz & Stegun 15.3.3), with (α+T)/(α+T+t) = 1−z and C−A−B = a−1−r−x:
 *   (1−z)^(r+x) 2F1(r+x, b+x; a+b+x−1; z) = (1−z)^(a−1) 2F1(a+b−1−r, a−1; a+b+x−1; z).
 * Same value; but the direct form multiplies a 2F1 that grows like (1−z)^−(r+x) by a power that shrinks as
 * fast, which overflows for frequent buyers, while the transformed 2F1 has bounded upper parameters and
 * tends to 1 as x grows. 0 ≤ z < 1 always here (α+T > 0), inside the series' disc of convergence.
 */
function conditionalBracket(params: BgNbdParams, t: number, x: number, T: number): number {
  const { r, alpha, a, b } = params;
  if (t === 0) return 0;
  const z = t / (alpha + T + t);
  const oneMinusZ = (alpha + T) / (alpha + T + t);
  const f = hyp2f1(a + b - 1 - r, a - 1, a + b + x - 1, z);
  return ((a + b + x - 1) / (a - 1)) * (1 - oneMinusZ ** (a - 1) * f);
}

/**
 * 1 / P(alive)'s denominator: 1 + δ_{x>0} · a/(b+x−1) · ((α+T)/(α+t_x))^(r+x), in logs so that it is
 * Infinity (P(alive) = 0) rather than NaN when the power overflows.
 */
function aliveDenominator(params: BgNbdParams, x: number, tx: number, T: number): number {
  if (x === 0) return 1;
  const { r, alpha, a, b } = params;
  return 1 + Math.exp(Math.log(a / (b + x - 1)) + (r + x) * Math.log((alpha + T) / (alpha + tx)));
}

/**
 * E[X(t) | x, t_x, T]: expected repeat purchases in the next t time units of a customer with history
 * (x, t_x, T), FHL 2005 eq. (10):
 *   (a+b+x−1)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) 2F1(r+x, b+x; a+b+x−1; t/(α+T+t))]
 *   / (1 + δ_{x>0} a/(b+x−1) ((α+T)/(α+t_x))^(r+x)).
 */
export function expectedPurchases(params: BgNbdParams, t: number, x: number, tx: number, T: number): number {
  checkParams(params);
  if (!(t >= 0)) throw new KizunaError('invalid_request', `prediction horizon t must be ≥ 0, not ${t}`);
  return conditionalBracket(params, t, x, T) / aliveDenominator(params, x, tx, T);
}

/**
 * P(alive | x, t_x, T) = 1 / (1 + δ_{x>0} · a/(b+x−1) · ((α+T)/(α+t_x))^(r+x)): the denominator of
 * FHL 2005 eq. (10), derived in Fader, Hardie & Lee (2008), "Computing P(alive) using the BG/NBD model"
 * (note, brucehardie.com). A customer without repeat purchases cannot have dropped out under the BG/NBD
 * (dropout happens only right after a repeat purchase), hence P(alive) = 1 at x = 0.
 */
export function probabilityAlive(params: BgNbdParams, x: number, tx: number, T: number): number {
  checkParams(params);
  return 1 / aliveDenominator(params, x, tx, T);
}

/**
 * E[X(t)] of a customer just acquired (unconditional), FHL 2005 eq. (7):
 *   (a+b−1)/(a−1) · [1 − (α/(α+t))^r 2F1(r, b; a+b−1; t/(α+t))],
 * which is eq. (10) at x = 0, T = 0 and is evaluated through the same transformed bracket.
 */
export function expectedPurchasesNew(params: BgNbdParams, t: number): number {
  checkParams(params);
  if (!(t >= 0)) throw new KizunaError('invalid_request', `prediction horizon t must be ≥ 0, not ${t}`);
  return conditionalBracket(params, t, 0, 0);
}

/** expectedPurchases for every customer of `data`, with one horizon t. */
export function expectedPurchasesVector(
  params: BgNbdParams,
  t: number,
  data: CustomerHistories,
): Float64Array {
  checkParams(params);
  const out = new Float64Array(data.frequency.length);
  for (let i = 0; i < out.length; i++) {
    out[i] = expectedPurchases(params, t, data.frequency[i]!, data.recency[i]!, data.T[i]!);
  }
  return out;
}

/** probabilityAlive for every customer of `data`. */
export function probabilityAliveVector(params: BgNbdParams, data: CustomerHistories): Float64Array {
  checkParams(params);
  const out = new Float64Array(data.frequency.length);
  for (let i = 0; i < out.length; i++) {
    out[i] = 1 / aliveDenominator(params, data.frequency[i]!, data.recency[i]!, data.T[i]!);
  }
  return out;
}

/** expectedPurchasesNew for several horizons. */
export function expectedPurchasesNewVector(params: BgNbdParams, t: Float64Array): Float64Array {
  return t.map((ti) => expectedPurchasesNew(params, ti));
}
