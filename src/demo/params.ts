import { KizunaError } from '../errors.ts';

/**
 * The knobs of the demo retailer. The model parameters keep their papers' letters; note that the BG/NBD
 * per-customer dropout probability (latent column `p`) and the Gamma-Gamma shape parameter `p` below are
 * different things that happen to share a letter in the literature.
 */
export type DemoParams = {
  /** BG/NBD: λ ~ Gamma(shape r, rate α), purchases per week (Fader, Hardie & Lee 2005, §3 (ii)). */
  r: number;
  alpha: number;
  /** BG/NBD: dropout probability after each repeat purchase p ~ Beta(a, b) (FHL 2005, §3 (iv)). */
  a: number;
  b: number;
  /** Gamma-Gamma: transaction value z ~ Gamma(shape p, rate ν), ν ~ Gamma(shape q, rate γ) (yen). */
  p: number;
  q: number;
  gamma: number;
  /** Customers are acquired uniformly over this many years before asOf. */
  years: number;
  /** Share of customers with Latin (non-Japanese) names. */
  latinNameShare: number;
  missingEmailShare: number;
  missingPhoneShare: number;
  missingBirthDateShare: number;
  /** Contact-lens wearers: they also follow the lens replacement cycle (see orders.ts). */
  contactLensShare: number;
  /** Glasses wearers: glasses among their interests, and the glasses replacement cycle. */
  glassesShare: number;
  /** Mean days between replacement orders of lenses and of glasses. */
  lensCycleDays: number;
  glassesCycleDays: number;
  /** The chance after each replacement order that the wearer buys the next one elsewhere (cycle ends). */
  cycleChurn: number;
  /** The "bought A only / B only / both" story (MISSION §2): affinities to products P-A and P-B. */
  aOnlyShare: number;
  bOnlyShare: number;
  abBothShare: number;
  /** Share of order lines that are returned. */
  returnShare: number;
  /** Share of customer records that repeat an earlier customer's identity (for the duplicate finder). */
  duplicateShare: number;
};

export const DEFAULT_PARAMS: Readonly<DemoParams> = Object.freeze({
  // Between the CDNOW estimates (r 0.243, α 4.414, a 0.793, b 2.426; FHL 2005 §4) and a busier shop:
  // E[λ] = 0.1 purchases/week, E[X(52 weeks)] ≈ 2.39 repeat purchases, ≈ 3.8 orders per customer on average
  // over the 3-year acquisition window.
  r: 0.4,
  alpha: 4,
  a: 0.8,
  b: 2.5,
  // E[z] = pγ/(q−1) = 4,000 yen per purchase occasion.
  p: 6,
  q: 4,
  gamma: 2000,
  years: 3,
  latinNameShare: 0.2,
  missingEmailShare: 0.15,
  missingPhoneShare: 0.1,
  missingBirthDateShare: 0.2,
  contactLensShare: 0.08,
  glassesShare: 0.1,
  lensCycleDays: 90,
  glassesCycleDays: 730,
  cycleChurn: 0.05,
  aOnlyShare: 0.1,
  bOnlyShare: 0.1,
  abBothShare: 0.05,
  returnShare: 0.02,
  duplicateShare: 0.005,
});

export type DemoOptions = {
  customers: number;
  seed: number;
  /** End of the observed history; nothing happens after it. Default 2026-10-31T23:59:59Z. */
  asOf?: Date;
  params?: Partial<DemoParams>;
};

export const DEFAULT_AS_OF = new Date('2026-10-31T23:59:59Z');

const SHARE_KEYS = [
  'latinNameShare',
  'missingEmailShare',
  'missingPhoneShare',
  'missingBirthDateShare',
  'contactLensShare',
  'cycleChurn',
  'glassesShare',
  'aOnlyShare',
  'bOnlyShare',
  'abBothShare',
  'returnShare',
  'duplicateShare',
] as const satisfies readonly (keyof DemoParams)[];

/** Merges the defaults and rejects values the models are undefined for, naming the offending field. */
export function resolveParams(overrides: Partial<DemoParams> = {}): DemoParams {
  const params: DemoParams = { ...DEFAULT_PARAMS, ...overrides };
  for (const key of [
    'r',
    'alpha',
    'a',
    'b',
    'p',
    'gamma',
    'years',
    'lensCycleDays',
    'glassesCycleDays',
  ] as const) {
    if (!(Number.isFinite(params[key]) && params[key] > 0)) invalid(key, 'must be a positive number');
  }
  // The Gamma-Gamma population mean pγ/(q−1) only exists for q > 1.
  if (!(Number.isFinite(params.q) && params.q > 1)) invalid('q', 'must be greater than 1');
  for (const key of SHARE_KEYS) {
    if (!(params[key] >= 0 && params[key] <= 1)) invalid(key, 'must be between 0 and 1');
  }
  if (params.aOnlyShare + params.bOnlyShare + params.abBothShare > 1) {
    invalid('aOnlyShare', 'aOnlyShare + bOnlyShare + abBothShare must not exceed 1');
  }
  return params;
}

export function resolveOptions(options: DemoOptions): {
  customers: number;
  seed: number;
  asOf: Date;
  params: DemoParams;
} {
  if (!(Number.isSafeInteger(options.customers) && options.customers >= 0)) {
    invalid('customers', 'must be a non-negative integer');
  }
  if (!Number.isSafeInteger(options.seed)) invalid('seed', 'must be an integer');
  const asOf = options.asOf ?? DEFAULT_AS_OF;
  if (Number.isNaN(asOf.getTime())) invalid('asOf', 'must be a valid date');
  return { customers: options.customers, seed: options.seed, asOf, params: resolveParams(options.params) };
}

function invalid(field: string, message: string): never {
  throw new KizunaError('demo_invalid_option', `demo option ${field} ${message}`, { field });
}
