import { sql } from 'kysely';
import { z } from 'zod';
import { readSettingValue, writeSettingValue } from '../auth/index.ts';
import type { CampaignChannel, CampaignPurpose, ConsentChannel, Database, Tier } from '../db/index.ts';
import { KizunaError } from '../errors.ts';

/**
 * The contact policy (issue #7, MISSION §5): whether a customer may be sent a message on a channel for a
 * purpose, right now. Every channel's send path, the preview and the call-outcome log ask this one
 * function, with a whole batch of customers at once (one statement, set-based).
 *
 * Reasons, in the order they are reported (every reason that applies is listed; the first is "the" reason):
 * - `erased` / `merged`: the customer was forgotten, or merged into another record;
 * - `do_not_contact`: the customer's do-not-contact flag;
 * - `sales_call_refused`: a phone contact with purpose 'sales' — always refused;
 * - `no_consent:<channel>`: the latest consent recorded for the channel is not a grant (or there is none);
 *   email and newsletter use the email consent, letter the letter consent, phone the phone consent;
 * - `tier_not_allowed:<channel>`: letter and phone only for the configured tiers (costly channels);
 * - `complaint_quiet_period`: a complaint still open, or opened within `complaintQuietDays` (follow-up
 *   contacts are exempt: following up a complaint is the point of them);
 * - `frequency_cap`: the customer already had `max` touches within `days` on this channel, or overall.
 */

export const TIER_VALUES = [
  'loyal',
  'semi_loyal',
  'regular',
  'new',
  'lapsed',
] as const satisfies readonly Tier[];

const Cap = z.strictObject({
  max: z.number().int().min(0).max(1000).describe('at most this many touches…'),
  days: z.number().int().min(1).max(3650).describe('…within this many days (counted back from now)'),
});
export type FrequencyCap = z.output<typeof Cap>;

export const ContactPolicySchema = z.strictObject({
  frequencyCaps: z
    .strictObject({
      overall: Cap.default({ max: 6, days: 30 }),
      email: Cap.default({ max: 4, days: 30 }),
      newsletter: Cap.default({ max: 4, days: 30 }),
      letter: Cap.default({ max: 1, days: 30 }),
      phone: Cap.default({ max: 1, days: 30 }),
    })
    .prefault({}),
  complaintQuietDays: z.number().int().min(0).max(365).default(14),
  tiersAllowed: z
    .strictObject({
      letter: z.array(z.enum(TIER_VALUES)).default(['loyal', 'semi_loyal']),
      phone: z.array(z.enum(TIER_VALUES)).default(['loyal', 'semi_loyal']),
    })
    .prefault({}),
});
export type ContactPolicy = z.output<typeof ContactPolicySchema>;
export const DEFAULT_CONTACT_POLICY: ContactPolicy = ContactPolicySchema.parse({});

/** A change: any part of the policy; a cap or tier list given replaces that part only. */
export const ContactPolicyPatch = z.strictObject({
  frequencyCaps: z
    .strictObject({
      overall: Cap.optional(),
      email: Cap.optional(),
      newsletter: Cap.optional(),
      letter: Cap.optional(),
      phone: Cap.optional(),
    })
    .optional(),
  complaintQuietDays: z.number().int().min(0).max(365).optional(),
  tiersAllowed: z
    .strictObject({
      letter: z.array(z.enum(TIER_VALUES)).optional(),
      phone: z.array(z.enum(TIER_VALUES)).optional(),
    })
    .optional(),
});
export type ContactPolicyPatch = z.output<typeof ContactPolicyPatch>;

const KEY = 'contact_policy';

export async function readContactPolicy(database: Database): Promise<ContactPolicy> {
  return ContactPolicySchema.parse(await readSettingValue(database, KEY));
}

export async function updateContactPolicy(
  database: Database,
  patch: unknown,
  staffId: number | null,
): Promise<ContactPolicy> {
  const parsed = ContactPolicyPatch.safeParse(patch);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join('.');
    throw new KizunaError('invalid_request', `${field || 'policy'}: ${issue?.message ?? 'invalid'}`, {
      field,
    });
  }
  const current = await readContactPolicy(database);
  const next = ContactPolicySchema.parse({
    frequencyCaps: { ...current.frequencyCaps, ...parsed.data.frequencyCaps },
    complaintQuietDays: parsed.data.complaintQuietDays ?? current.complaintQuietDays,
    tiersAllowed: { ...current.tiersAllowed, ...parsed.data.tiersAllowed },
  });
  await writeSettingValue(database, KEY, next, staffId);
  return next;
}

/** The consent a channel needs. */
export const CONSENT_FOR: Record<CampaignChannel, ConsentChannel> = {
  email: 'email',
  newsletter: 'email',
  letter: 'letter',
  phone: 'phone',
};

/** The touch channels a campaign channel's frequency cap counts. */
export const CAPPED_TOUCH_CHANNELS: Record<CampaignChannel, string[]> = {
  email: ['email', 'step_mail'],
  newsletter: ['newsletter'],
  letter: ['letter', 'dm'],
  phone: ['phone'],
};

export type PolicyRequest = {
  customerIds: readonly number[];
  channel: CampaignChannel;
  purpose: CampaignPurpose;
  now?: Date;
  /** The policy to apply; read from the settings when absent. */
  policy?: ContactPolicy;
};

/** Why a customer may not be contacted: every reason that applies, the decisive one first. */
export type Refusal = { reason: string; reasons: string[] };

type FactsRow = {
  id: number;
  found: boolean;
  erased: boolean;
  merged: boolean;
  do_not_contact: boolean;
  consent: boolean | null;
  tier: Tier | null;
  complaint: boolean;
  channel_touches: number;
  all_touches: number;
};

/** The facts the policy needs for a batch of customers, in one statement. */
async function policyFacts(
  database: Database,
  ids: readonly number[],
  channel: CampaignChannel,
  policy: ContactPolicy,
  now: Date,
): Promise<FactsRow[]> {
  const channelCap = policy.frequencyCaps[channel];
  const overallCap = policy.frequencyCaps.overall;
  const channelSince = new Date(now.getTime() - channelCap.days * 86_400_000);
  const overallSince = new Date(now.getTime() - overallCap.days * 86_400_000);
  const quietSince = new Date(now.getTime() - policy.complaintQuietDays * 86_400_000);
  const { rows } = await sql<FactsRow>`
    select ids.id,
      c.id is not null as found,
      coalesce(c.erased_at is not null, false) as erased,
      coalesce(c.merged_into_customer_id is not null, false) as merged,
      coalesce(c.do_not_contact, false) as do_not_contact,
      (select k.granted from consents k
        where k.customer_id = ids.id and k.channel = ${CONSENT_FOR[channel]} and k.recorded_at <= ${now}
        order by k.recorded_at desc, k.id desc limit 1) as consent,
      m.tier,
      exists (select 1 from interactions i
        where i.customer_id = ids.id and i.kind = 'complaint' and i.opened_at <= ${now}
          and (i.status not in ('resolved', 'closed') or i.opened_at > ${quietSince})) as complaint,
      (select count(*)::int from touches t
        where t.customer_id = ids.id and t.channel = any(${CAPPED_TOUCH_CHANNELS[channel]}::text[])
          and t.sent_at > ${channelSince} and t.sent_at <= ${now}) as channel_touches,
      (select count(*)::int from touches t
        where t.customer_id = ids.id and t.sent_at > ${overallSince} and t.sent_at <= ${now}) as all_touches
    from unnest(${[...ids]}::bigint[]) as ids (id)
    left join customers c on c.id = ids.id
    left join customer_measures m on m.customer_id = ids.id`.execute(database.db);
  return rows;
}

/** The reasons the policy gives for one customer's facts (pure: the tests check it against their own). */
export function refusalReasons(
  facts: Omit<FactsRow, 'id'>,
  channel: CampaignChannel,
  purpose: CampaignPurpose,
  policy: ContactPolicy,
): string[] {
  const reasons: string[] = [];
  if (!facts.found) reasons.push('unknown_customer');
  if (facts.erased) reasons.push('erased');
  if (facts.merged) reasons.push('merged');
  if (facts.do_not_contact) reasons.push('do_not_contact');
  if (channel === 'phone' && purpose === 'sales') reasons.push('sales_call_refused');
  if (facts.consent !== true) reasons.push(`no_consent:${channel}`);
  if (channel === 'letter' || channel === 'phone') {
    const allowed: readonly string[] = policy.tiersAllowed[channel];
    if (facts.tier === null || !allowed.includes(facts.tier)) reasons.push(`tier_not_allowed:${channel}`);
  }
  if (purpose !== 'follow_up' && facts.complaint) reasons.push('complaint_quiet_period');
  if (
    facts.channel_touches >= policy.frequencyCaps[channel].max ||
    facts.all_touches >= policy.frequencyCaps.overall.max
  ) {
    reasons.push('frequency_cap');
  }
  return reasons;
}

/**
 * The policy's answer for each customer: null when the message may go, else the refusal. One statement
 * for the whole batch. Every send path (email, newsletter, letter, phone) calls this at send time.
 */
export async function checkContactPolicy(
  database: Database,
  request: PolicyRequest,
): Promise<Map<number, Refusal | null>> {
  const now = request.now ?? new Date();
  const policy = request.policy ?? (await readContactPolicy(database));
  const answer = new Map<number, Refusal | null>();
  if (request.customerIds.length === 0) return answer;
  const rows = await policyFacts(database, request.customerIds, request.channel, policy, now);
  for (const row of rows) {
    const reasons = refusalReasons(row, request.channel, request.purpose, policy);
    answer.set(Number(row.id), reasons.length === 0 ? null : { reason: reasons[0]!, reasons });
  }
  return answer;
}

/** True when the only thing that stops a letter/phone contact is the customer's tier. */
export function refusedOnlyForTier(refusal: Refusal | null): boolean {
  return refusal?.reasons.every((r) => r.startsWith('tier_not_allowed:')) ?? false;
}
