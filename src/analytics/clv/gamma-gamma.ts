/**
 * Gamma-Gamma model of the monetary value of transactions: Fader, Hardie & Lee (2005), "RFM and CLV:
 * using iso-value curves for customer base analysis", Journal of Marketing Research 42(4), 415–430, §4
 * (after Colombo & Jiang 1999), and Fader & Hardie (2013), "The Gamma-Gamma model of monetary value"
 * (note, brucehardie.com; "the note" below). Assumptions: a customer's transaction values are
 * z ~ Gamma(p, rate ν), i.i.d. around their mean p/ν; across customers ν ~ Gamma(q, rate γ); spend is
 * independent of the transaction process, so the model is fitted to repeat customers (x > 0) only.
 *
 * Shape (as every model here): parameters type, log-likelihood, fit (through ./fitter.ts), predictions.
 */
import digamma from '@stdlib/math-base-special-digamma';
import gammaln from '@stdlib/math-base-special-gammaln';
import { KizunaError } from '../../errors.ts';
import { type FitOptions, type FitReport, fitPositiveParameters } from './fitter.ts';
import { type SpendData, totalWeight } from './rfm.ts';

export type GammaGammaParams = { p: number; q: number; gamma: number };

export type GammaGammaFit = {
  params: GammaGammaParams;
  report: FitReport;
  /** Asymptotic standard errors of each parameter (NaN when the information matrix is singular). */
  standardErrors: GammaGammaParams;
};

const NAMES = ['p', 'q', 'gamma'] as const;
const toVector = (p: GammaGammaParams): Float64Array => Float64Array.of(p.p, p.q, p.gamma);
const fromVector = (v: Float64Array): GammaGammaParams => ({ p: v[0]!, q: v[1]!, gamma: v[2]! });

/**
 * ln f(m_x | p, q, γ, x), the marginal density of the mean m_x of x transaction values (the note, eq. 4;
 * FHL 2005 JMR §4): the mean of x Gamma(p, ν) values is Gamma(px, xν) (the note, eq. 2); mixing ν over
 * Gamma(q, γ) (eq. 3) gives
 *   f(m_x) = Γ(px+q) / (Γ(px) Γ(q)) · γ^q · m_x^(px−1) · x^(px) / (γ + x m_x)^(px+q).
 * It is a density of m_x, not of (p, q, γ), so its value depends on the currency unit through the
 * m_x^(px−1) x^(px) Jacobian terms; only differences of log-likelihoods on the same data are meaningful.
 */
export function logLikelihoodCustomer(params: GammaGammaParams, x: number, mx: number): number {
  const { p, q, gamma } = params;
  const px = p * x;
  return (
    gammaln(px + q) -
    gammaln(px) -
    gammaln(q) +
    q * Math.log(gamma) +
    (px - 1) * Math.log(mx) +
    px * Math.log(x) -
    (px + q) * Math.log(gamma + x * mx)
  );
}

function validate(data: SpendData): void {
  const { frequency, meanValue, weight } = data;
  const n = frequency.length;
  if (meanValue.length !== n || weight.length !== n) {
    throw new KizunaError('invalid_clv_data', 'frequency, meanValue and weight must have the same length');
  }
  for (let i = 0; i < n; i++) {
    if (!(Number.isInteger(frequency[i]!) && frequency[i]! > 0)) {
      throw new KizunaError(
        'invalid_clv_data',
        `row ${i}: Gamma-Gamma needs repeat customers (frequency > 0)`,
      );
    }
    if (!(meanValue[i]! > 0 && Number.isFinite(meanValue[i]!))) {
      throw new KizunaError('invalid_clv_data', `row ${i}: mean value must be positive`);
    }
    if (!(weight[i]! > 0)) throw new KizunaError('invalid_clv_data', `row ${i}: weight must be positive`);
  }
}

/**
 * Total weighted ln L and optionally its gradient, from the note's eq. 4 differentiated with ψ = Γ'/Γ:
 *   ∂/∂p = x [ψ(px+q) − ψ(px) + ln m_x + ln x − ln(γ + x m_x)]
 *   ∂/∂q = ψ(px+q) − ψ(q) + ln γ − ln(γ + x m_x)
 *   ∂/∂γ = q/γ − (px+q)/(γ + x m_x).
 */
function evaluate(data: SpendData, theta: Float64Array, gradient: Float64Array | null): number {
  const p = theta[0]!;
  const q = theta[1]!;
  const gamma = theta[2]!;
  const { frequency, meanValue, weight } = data;
  const lgQ = gammaln(q);
  const lnGamma = Math.log(gamma);
  const psiQ = gradient ? digamma(q) : 0;
  let total = 0;
  let gP = 0;
  let gQ = 0;
  let gG = 0;
  for (let i = 0; i < frequency.length; i++) {
    const x = frequency[i]!;
    const m = meanValue[i]!;
    const w = weight[i]!;
    const px = p * x;
    const lnM = Math.log(m);
    const lnX = Math.log(x);
    const lnDen = Math.log(gamma + x * m);
    total +=
      w * (gammaln(px + q) - gammaln(px) - lgQ + q * lnGamma + (px - 1) * lnM + px * lnX - (px + q) * lnDen);
    if (gradient) {
      const psiPXQ = digamma(px + q);
      gP += w * x * (psiPXQ - digamma(px) + lnM + lnX - lnDen);
      gQ += w * (psiPXQ - psiQ + lnGamma - lnDen);
      gG += w * (q / gamma - (px + q) / (gamma + x * m));
    }
  }
  if (gradient) {
    gradient[0] = gP;
    gradient[1] = gQ;
    gradient[2] = gG;
  }
  return total;
}

/** Total weighted log-likelihood Σ weight · ln f(m_x | p, q, γ, x) (the note, eq. 4). */
export function logLikelihood(params: GammaGammaParams, data: SpendData): number {
  validate(data);
  return evaluate(data, toVector(params), null);
}

/** ∂ ln L / ∂(p, q, γ) in that order, analytic; exported for the gradient check. */
export function logLikelihoodGradient(params: GammaGammaParams, data: SpendData): Float64Array {
  validate(data);
  const g = new Float64Array(3);
  evaluate(data, toVector(params), g);
  return g;
}

export type GammaGammaFitOptions = FitOptions & { start?: GammaGammaParams };

/**
 * Maximum-likelihood fit to repeat customers. Start: p = q = 1 (lifetimes: near 1), and γ = the mean of
 * m_x, because γ carries the currency unit (E[z] = pγ/(q−1)) and starting it at 1 for yen amounts would put
 * the first iterations far from the data's scale.
 */
export function fitGammaGamma(data: SpendData, options: GammaGammaFitOptions = {}): GammaGammaFit {
  validate(data);
  const customers = totalWeight(data.weight);
  let sum = 0;
  for (let i = 0; i < data.meanValue.length; i++) sum += data.weight[i]! * data.meanValue[i]!;
  const start = options.start ?? { p: 1, q: 1, gamma: sum / customers };
  const fit = fitPositiveParameters(
    {
      negLogLik: (theta) => -evaluate(data, theta, null),
      gradient: (theta) => {
        const g = new Float64Array(3);
        evaluate(data, theta, g);
        return g.map((v) => -v);
      },
      start: toVector(start),
      customers,
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

/**
 * E[Z | p, q, γ, m_x, x] = p (γ + x m_x) / (p x + q − 1), the expected value of a customer's future
 * transactions (FHL 2005 JMR eq. 5; the note, eq. 5): a weighted mean of the population mean pγ/(q−1)
 * and the customer's own mean m_x, with weight on m_x growing with x. At x = 0 it is the population mean
 * (m_x is then ignored). Needs q > 1, else the population mean spend is infinite.
 */
export function conditionalExpectedValue(params: GammaGammaParams, x: number, mx: number): number {
  const { p, q, gamma } = params;
  if (!(q > 1)) {
    throw new KizunaError('invalid_request', `Gamma-Gamma expected value needs q > 1 (q = ${q})`);
  }
  return x === 0 ? (p * gamma) / (q - 1) : (p * (gamma + x * mx)) / (p * x + q - 1);
}

/** conditionalExpectedValue for every customer; frequency may include 0 (→ the population mean). */
export function conditionalExpectedValueVector(
  params: GammaGammaParams,
  data: Pick<SpendData, 'frequency' | 'meanValue'>,
): Float64Array {
  const out = new Float64Array(data.frequency.length);
  for (let i = 0; i < out.length; i++) {
    out[i] = conditionalExpectedValue(params, data.frequency[i]!, data.meanValue[i]!);
  }
  return out;
}
