import {
  type Category,
  FLOOR_STAFF_BY_STORE,
  INTEREST_CATEGORIES,
  INTEREST_WEIGHTS,
  LENS_PRODUCTS,
  type Product,
  STORE_WEIGHTS,
  STORES,
  type StaffMember,
  type Store,
} from './catalog.ts';
import {
  EMAIL_DOMAINS,
  FAMILY_NAMES,
  FAVOURITE_AUTHORS,
  GIVEN_NAMES,
  LATIN_FAMILY_NAMES,
  LATIN_GIVEN_NAMES,
} from './names.ts';
import type { Rng } from './random.ts';
import { DAY_MS, floorSecond, isoDate, isoTime, rngFor, shopTime, WEEK_MS, type World } from './world.ts';

export type Consent = 'yes' | 'no' | '';
export type AcquisitionSource = 'walk_in' | 'advert' | 'referral' | 'online' | 'event';
export type Affinity = 'a_only' | 'b_only' | 'both' | 'none';

/**
 * What is known about one customer before any of their rows is written: the latent model draws and the
 * profile that the other stages depend on. Cheap to compute, so every stage recomputes it.
 */
export type CustomerCore = {
  index: number;
  externalId: string;
  /** Acquisition on the shop clock (created_at and the first order), and in model time (world.ts, shopTime). */
  createdMs: number;
  createdModelMs: number;
  /** Weeks of model time from acquisition to asOf (the T of BG/NBD). */
  tWeeks: number;

  // Latent truth (the `latent` stream).
  lambda: number;
  /** BG/NBD dropout probability after each repeat purchase (not the Gamma-Gamma shape). */
  p: number;
  nu: number;
  /** Purchase times in weeks since acquisition; the first is 0 (the acquisition purchase). */
  purchaseWeeks: number[];
  /** Week of the repeat purchase after which the customer dropped out, or null if alive at asOf. */
  dropoutWeek: number | null;
  /** The same on the shop clock, or null. */
  dropoutMs: number | null;
  /** Shop-clock times of the replacement-cycle orders (streams `lens`, `glasses`); empty for non-wearers. */
  lensOrderMs: number[];
  glassesOrderMs: number[];

  // Profile (the `profile` stream).
  homeStore: Store;
  latinName: boolean;
  interests: Category[];
  lens: Product | null;
  glasses: boolean;
  affinity: Affinity;
  hasEmail: boolean;
  hardBounce: boolean;
  hasPhone: boolean;
  birthDateMs: number | null;
  consentEmail: Consent;
  consentSms: Consent;
  consentPhone: Consent;
  consentLetter: Consent;
  doNotContact: boolean;
  newsletter: boolean;
  /** Propensity to open what we send, Beta(2, 5): most customers open a quarter of their mail. */
  engagement: number;
  source: AcquisitionSource;
  referrerIndex: number | null;
  accountOwner: StaffMember | null;
  duplicateOf: number | null;
};

export function externalCustomerId(index: number): string {
  return `C${String(index + 1).padStart(7, '0')}`;
}

const SOURCES: readonly AcquisitionSource[] = ['walk_in', 'advert', 'referral', 'online', 'event'];
const SOURCE_WEIGHTS: readonly number[] = [0.45, 0.2, 0.15, 0.12, 0.08];

function consent(rng: Rng, yes: number, no: number): Consent {
  const u = rng.float();
  return u < yes ? 'yes' : u < yes + no ? 'no' : '';
}

/** Weighted sampling without replacement of `count` interest categories. */
function drawInterests(rng: Rng, count: number): Category[] {
  const weights = [...INTEREST_WEIGHTS];
  const chosen: Category[] = [];
  for (let k = 0; k < count; k++) {
    const i = rng.weightedIndex(weights);
    chosen.push(INTEREST_CATEGORIES[i]!);
    weights[i] = 0;
  }
  return chosen;
}

function replacementCycle(
  world: World,
  index: number,
  stage: 'lens' | 'glasses',
  days: number,
  shape: number,
  startMs: number,
  endMs: number,
): number[] {
  const rng = rngFor(world, index, stage);
  const times: number[] = [];
  let t = startMs + (stage === 'glasses' ? rng.float() : rng.gamma(shape, shape)) * days * DAY_MS;
  while (t <= endMs) {
    times.push(floorSecond(shopTime(t)));
    if (rng.chance(world.params.cycleChurn)) break;
    t += rng.gamma(shape, shape) * days * DAY_MS;
  }
  return times;
}

export function drawCore(world: World, index: number): CustomerCore {
  const { params } = world;
  const profile = rngFor(world, index, 'profile');

  // Stratified uniform acquisition: customer i is acquired in the i-th of N equal slots of the window, so
  // the file is in acquisition order and a referrer (an earlier index) was always acquired earlier.
  const slotMs = world.spanMs / Math.max(1, world.customers);
  const createdModelMs = world.startMs + (index + profile.float()) * slotMs;
  const createdMs = floorSecond(shopTime(createdModelMs));
  const tWeeks = (world.modelEndMs - createdModelMs) / WEEK_MS;

  const homeStore = STORES[profile.weightedIndex(STORE_WEIGHTS)]!;
  const latinName = profile.chance(params.latinNameShare);
  const interests = drawInterests(profile, 1 + profile.weightedIndex([0.35, 0.4, 0.25]));
  const glasses = profile.chance(params.glassesShare);
  if (glasses) interests.push('glasses');
  const lens = profile.chance(params.contactLensShare) ? profile.pick(LENS_PRODUCTS) : null;
  if (lens) interests.push('contact_lenses');
  const u = profile.float();
  const affinity: Affinity =
    u < params.aOnlyShare
      ? 'a_only'
      : u < params.aOnlyShare + params.bOnlyShare
        ? 'b_only'
        : u < params.aOnlyShare + params.bOnlyShare + params.abBothShare
          ? 'both'
          : 'none';
  if (affinity !== 'none' && !interests.includes('coffee')) interests.push('coffee');

  const hasEmail = !profile.chance(params.missingEmailShare);
  const hardBounce = hasEmail && profile.chance(0.025);
  const hasPhone = !profile.chance(params.missingPhoneShare);
  let birthDateMs: number | null = null;
  if (!profile.chance(params.missingBirthDateShare)) {
    const age = Math.min(88, Math.max(18, profile.normal(44, 15)));
    birthDateMs = createdMs - age * 365.25 * DAY_MS;
  }
  const consentEmail = hasEmail ? consent(profile, 0.85, 0.1) : '';
  const consentSms = hasPhone ? consent(profile, 0.08, 0.3) : '';
  const consentPhone = hasPhone ? consent(profile, 0.25, 0.25) : '';
  const consentLetter = consent(profile, 0.45, 0.15);
  const doNotContact = profile.chance(0.01);
  const newsletter = consentEmail === 'yes' && profile.chance(0.45);
  const engagement = profile.beta(2, 5);
  let source = SOURCES[profile.weightedIndex(SOURCE_WEIGHTS)]!;
  if (source === 'referral' && index === 0) source = 'walk_in';
  const referrerIndex = source === 'referral' ? profile.int(0, index - 1) : null;
  const accountOwner = profile.chance(0.06) ? profile.pick(FLOOR_STAFF_BY_STORE.get(homeStore.code)!) : null;
  const duplicateOf = index > 0 && profile.chance(params.duplicateShare) ? profile.int(0, index - 1) : null;

  // BG/NBD (Fader, Hardie & Lee 2005, §3): (ii) λ ~ Gamma(r, α); (iv) p ~ Beta(a, b); (i) while active,
  // inter-purchase times are Exponential(λ); (iii) after each repeat purchase the customer drops out with
  // probability p. The acquisition purchase at week 0 is not followed by a dropout draw, exactly as in the
  // model (a customer with no repeat purchase is certainly alive), which is what E[X(t)] (eq. 7) assumes.
  // Gamma-Gamma's ν ~ Gamma(q, γ) (FHL 2005 "RFM and CLV", §4) is drawn here too so the truth is one stream.
  const latent = rngFor(world, index, 'latent');
  const lambda = latent.gamma(params.r, params.alpha);
  const p = latent.beta(params.a, params.b);
  const nu = latent.gamma(params.q, params.gamma);
  const purchaseWeeks = [0];
  let dropoutWeek: number | null = null;
  for (let t = latent.exponential(lambda); t < tWeeks; t += latent.exponential(lambda)) {
    purchaseWeeks.push(t);
    if (latent.chance(p)) {
      dropoutWeek = t;
      break;
    }
  }

  // Replacement cycles: renewal processes beside BG/NBD (see orders.ts for why they are separate), in model
  // time from acquisition until the BG/NBD dropout (or asOf). Gaps are cycle × Gamma(k, k): mean one cycle,
  // coefficient of variation 1/√k (1/4 for lenses, which run out on schedule; 0.3 for glasses). Lenses are
  // first re-bought one gap after acquisition; a glasses wearer's current pair is of uniform age, so the
  // first new pair comes after a uniform share of a cycle.
  const cycleEndMs = dropoutWeek === null ? world.modelEndMs : createdModelMs + dropoutWeek * WEEK_MS;
  const lensOrderMs = lens
    ? replacementCycle(world, index, 'lens', params.lensCycleDays, 16, createdModelMs, cycleEndMs)
    : [];
  const glassesOrderMs = glasses
    ? replacementCycle(world, index, 'glasses', params.glassesCycleDays, 11, createdModelMs, cycleEndMs)
    : [];

  return {
    index,
    externalId: externalCustomerId(index),
    createdMs,
    createdModelMs,
    tWeeks,
    lambda,
    p,
    nu,
    purchaseWeeks,
    dropoutWeek,
    dropoutMs: dropoutWeek === null ? null : shopTime(createdModelMs + dropoutWeek * WEEK_MS),
    lensOrderMs,
    glassesOrderMs,
    homeStore,
    latinName,
    interests,
    lens,
    glasses,
    affinity,
    hasEmail,
    hardBounce,
    hasPhone,
    birthDateMs,
    consentEmail,
    consentSms,
    consentPhone,
    consentLetter,
    doNotContact,
    newsletter,
    engagement,
    source,
    referrerIndex,
    accountOwner,
    duplicateOf,
  };
}

/** Whether the customer is still active at a given time (the truth, not what the shop can see). */
export function aliveAt(core: CustomerCore, ms: number): boolean {
  return core.dropoutMs === null || ms < core.dropoutMs;
}

/** The truth's own yardstick for "valuable": expected yearly spend λ·52·(p_GG/ν) while active. */
export function expectedYearlySpend(core: CustomerCore, world: World): number {
  return core.lambda * 52 * (world.params.p / core.nu);
}

export const CUSTOM_FIELDS = ['favourite_author', 'member_card'] as const;

type Identity = {
  name: string;
  nameKana: string;
  email: string;
  phone: string;
  postalCode: string;
  address: string;
};

function digits(rng: Rng, count: number): string {
  let s = '';
  for (let i = 0; i < count; i++) s += String(rng.int(0, 9));
  return s;
}

function drawIdentity(world: World, core: CustomerCore): Identity {
  const rng = rngFor(world, core.index, 'identity');
  const [family, given] = core.latinName
    ? [rng.pick(LATIN_FAMILY_NAMES), rng.pick(LATIN_GIVEN_NAMES)]
    : [rng.pick(FAMILY_NAMES), rng.pick(GIVEN_NAMES)];
  const name = core.latinName ? `${given[0]} ${family[0]}` : `${family[0]} ${given[0]}`;
  const nameKana = core.latinName ? `${given[1]}・${family[1]}` : `${family[1]} ${given[1]}`;
  // The customer number in the local part makes every address unique, so the duplicate finder only meets
  // the duplicates that were planted on purpose.
  const local = rng.chance(0.7) ? `${given[2]}.${family[2]}` : `${family[2]}_${given[2]}`;
  const email = core.hasEmail ? `${local}${core.index + 1}@${rng.pick(EMAIL_DOMAINS)}` : '';
  const store = core.homeStore;
  let phone = '';
  if (core.hasPhone) {
    phone = rng.chance(0.7)
      ? `0${rng.pick(['90', '80', '70'])}-${digits(rng, 4)}-${digits(rng, 4)}`
      : store.areaCode.length === 2
        ? `${store.areaCode}-${digits(rng, 4)}-${digits(rng, 4)}`
        : `${store.areaCode}-${digits(rng, 3)}-${digits(rng, 4)}`;
  }
  const postalCode = `${store.postalPrefix}-${digits(rng, 4)}`;
  const building = rng.chance(0.4)
    ? ` ${rng.pick(['メゾン', 'グランハイツ', 'コーポ', 'パークハウス'])}${rng.int(1, 12)}0${rng.int(1, 9)}`
    : '';
  const address = `${store.city}${rng.pick(store.towns)}${rng.int(1, 5)}-${rng.int(1, 30)}-${rng.int(1, 20)}${building}`;
  return { name, nameKana, email, phone, postalCode, address };
}

/**
 * One row of customers.csv. A planted duplicate (latent `duplicate_of`) repeats an earlier customer's name,
 * reading, phone and address, and often the e-mail too, as happens when someone registers again at
 * another store; its purchases are its own.
 */
export function customerRow(world: World, core: CustomerCore): Record<string, string> {
  const extra = rngFor(world, core.index, 'tags');
  let identity = drawIdentity(world, core);
  let birthDateMs = core.birthDateMs;
  if (core.duplicateOf !== null) {
    const original = drawCore(world, core.duplicateOf);
    const originalIdentity = drawIdentity(world, original);
    identity = {
      ...originalIdentity,
      // Only the duplicate's own address may be empty, so that consents (drawn with it) stay consistent.
      email: originalIdentity.email !== '' && extra.chance(0.4) ? originalIdentity.email : identity.email,
      phone: originalIdentity.phone || identity.phone,
    };
    birthDateMs = original.birthDateMs ?? birthDateMs;
  }
  const tags: string[] = [];
  if (core.newsletter) tags.push('newsletter');
  if (expectedYearlySpend(core, world) > 100_000) tags.push('vip');
  if (core.lens && extra.chance(0.5)) tags.push('lens_subscriber');
  if (extra.chance(0.02)) tags.push('corporate');
  if (core.interests.includes('wine') && extra.chance(0.3)) tags.push('wine_club');
  const favouriteAuthor =
    core.interests.includes('books') && extra.chance(0.4) ? extra.pick(FAVOURITE_AUTHORS) : '';
  const memberCard = extra.chance(0.6) ? `KZ-${String(core.index + 1).padStart(8, '0')}` : '';
  return {
    external_id: core.externalId,
    name: identity.name,
    name_kana: identity.nameKana,
    email: identity.email,
    phone: identity.phone,
    postal_code: identity.postalCode,
    address: identity.address,
    birth_date: birthDateMs === null ? '' : isoDate(birthDateMs),
    home_store: core.homeStore.code,
    acquisition_source: core.source,
    referred_by: core.referrerIndex === null ? '' : externalCustomerId(core.referrerIndex),
    account_owner: core.accountOwner?.code ?? '',
    tags: tags.join('|'),
    consent_email: core.consentEmail,
    consent_sms: core.consentSms,
    consent_phone: core.consentPhone,
    consent_letter: core.consentLetter,
    do_not_contact: core.doNotContact ? 'yes' : 'no',
    created_at: isoTime(core.createdMs),
    'custom.favourite_author': favouriteAuthor,
    'custom.member_card': memberCard,
  };
}
