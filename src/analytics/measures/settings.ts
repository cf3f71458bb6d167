import { KizunaError } from '../../errors.ts';

/**
 * Cut points for RFM scores instead of quintiles. Each list has four ascending values, the boundaries
 * between scores 1..5. Recency: days since the last purchase; a value at or below the first point scores 5,
 * at or below the second 4, … above the fourth 1. Frequency (orders) and monetary (total spend, a decimal
 * string or number): a value at or above the fourth point scores 5, at or above the third 4, … below the first 1.
 */
export type RfmCutPoints = {
  recencyDays: readonly [number, number, number, number];
  frequency: readonly [number, number, number, number];
  monetary: readonly [string | number, string | number, string | number, string | number];
};

/** Weights of the composite loyalty score; each applies to a percentile rank between 0 and 1. */
export type TierWeights = { spend: number; tenure: number; repeat: number };

export type TierSettings = {
  /** Share of active customers ranked loyal (top of the composite score). */
  loyalShare: number;
  /** Share of active customers ranked semi-loyal (right after the loyal ones). */
  semiLoyalShare: number;
  weights: TierWeights;
  /** A customer with no purchase in this many days (counting the as-of day) is lapsed. */
  lapsedDays: number;
  /** A customer whose first purchase is within this many days (counting the as-of day) is new. */
  newDays: number;
  /** Rank by total spend alone (weights 1, 0, 0). */
  spendOnly: boolean;
};

export type MeasuresSettings = {
  /** Cut points; without them the scores are quintiles (ntile(5)) over customers with purchases. */
  rfm?: RfmCutPoints;
  tiers: TierSettings;
};

export type MeasuresSettingsInput = {
  rfm?: RfmCutPoints;
  tiers?: Partial<Omit<TierSettings, 'weights'>> & { weights?: Partial<TierWeights> };
};

export const DEFAULT_TIER_SETTINGS: TierSettings = {
  loyalShare: 0.06,
  semiLoyalShare: 0.14,
  weights: { spend: 0.6, tenure: 0.2, repeat: 0.2 },
  lapsedDays: 365,
  newDays: 90,
  spendOnly: false,
};

function invalid(message: string): never {
  throw new KizunaError('invalid_settings', `invalid analytics settings: ${message}`);
}

function ascending(name: string, values: readonly (string | number)[]): void {
  if (values.length !== 4) invalid(`${name} needs exactly four cut points`);
  const numbers = values.map(Number);
  if (numbers.some((n) => !Number.isFinite(n))) invalid(`${name} cut points must be numbers`);
  for (let i = 1; i < numbers.length; i++) {
    if ((numbers[i] as number) <= (numbers[i - 1] as number)) invalid(`${name} cut points must ascend`);
  }
}

/** Fills in the defaults and rejects settings that cannot rank anyone sensibly. */
export function resolveSettings(input: MeasuresSettingsInput = {}): MeasuresSettings {
  const given = input.tiers ?? {};
  const tiers: TierSettings = {
    ...DEFAULT_TIER_SETTINGS,
    ...given,
    weights: { ...DEFAULT_TIER_SETTINGS.weights, ...given.weights },
  };
  if (tiers.spendOnly) tiers.weights = { spend: 1, tenure: 0, repeat: 0 };
  const { loyalShare, semiLoyalShare, weights } = tiers;
  if (!(loyalShare >= 0 && semiLoyalShare >= 0 && loyalShare + semiLoyalShare <= 1)) {
    invalid('loyalShare and semiLoyalShare must be between 0 and 1 and sum to at most 1');
  }
  if (![weights.spend, weights.tenure, weights.repeat].every((w) => Number.isFinite(w) && w >= 0)) {
    invalid('weights must be non-negative numbers');
  }
  if (!(Number.isInteger(tiers.lapsedDays) && tiers.lapsedDays > 0))
    invalid('lapsedDays must be a positive integer');
  if (!(Number.isInteger(tiers.newDays) && tiers.newDays > 0)) invalid('newDays must be a positive integer');
  if (input.rfm) {
    ascending('recencyDays', input.rfm.recencyDays);
    ascending('frequency', input.rfm.frequency);
    ascending('monetary', input.rfm.monetary);
  }
  return { rfm: input.rfm, tiers };
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** The as-of day as 'YYYY-MM-DD' (UTC); today when none is given. */
export function asOfDay(asOf: Date | string | undefined): string {
  if (asOf === undefined) return new Date().toISOString().slice(0, 10);
  if (asOf instanceof Date) {
    if (Number.isNaN(asOf.getTime())) invalid('asOf is not a valid date');
    return asOf.toISOString().slice(0, 10);
  }
  // The round trip rejects days that do not exist (2025-02-30), which Date would roll over.
  const parsed = new Date(`${asOf}T00:00:00Z`);
  if (!DAY.test(asOf) || Number.isNaN(parsed.getTime()) || parsed.toISOString().slice(0, 10) !== asOf) {
    invalid(`asOf must be YYYY-MM-DD, not ${asOf}`);
  }
  return asOf;
}
