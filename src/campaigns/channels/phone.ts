import { sql } from 'kysely';
import { z } from 'zod';
import { type Actor, customerInStores, requireCustomerInScope, requirePermission } from '../../auth/index.ts';
import { customer360 } from '../../customers/index.ts';
import type { Database } from '../../db/index.ts';
import { csvLine } from '../../demo/index.ts';
import { KizunaError } from '../../errors.ts';
import { CAMPAIGN_PURPOSES, getCampaign } from '../campaigns.ts';
import { checkContactPolicy } from '../contact-policy.ts';
import { renderText, templateScope } from '../personalisation.ts';

/**
 * Phone follow-ups (MISSION §5: "never a sales call"). Sending a phone campaign puts each permitted
 * recipient on the call list (the contact policy has refused purpose 'sales' for every one of them, and
 * kept calls for the configured tiers); the touch is logged then. Each row carries what the caller needs
 * from the customer's 360 — tier, last purchase, favourite categories, open tickets and complaints, the
 * follow-up prompts, the preference notes in force — and the follow-up script. The outcome of each call is
 * logged as an interaction (kind 'call'); a call logged with purpose 'sales' is refused by the policy.
 */

export const DEFAULT_SCRIPT =
  'Hello {{ customer.name | default: "" }}, this is a follow-up call: how are you finding {{ last_purchase.product | default: "your recent purchase" }}? Is there anything we can help with?';

export type CallListRow = {
  customerId: number;
  name: string | null;
  phone: string | null;
  purpose: 'follow_up' | 'marketing';
  tier: string | null;
  lastPurchaseAt: string | null;
  favouriteCategories: string[];
  openIssues: string[];
  followUps: string[];
  preferenceNotes: string[];
  script: string;
};

/** The call list of a phone campaign: every recipient put on it (of the caller's stores), with their context. */
export async function callList(database: Database, actor: Actor, campaignId: number): Promise<CallListRow[]> {
  requirePermission(actor, 'campaigns:write');
  const campaign = await getCampaign(database, campaignId);
  if (campaign.channel !== 'phone') {
    throw new KizunaError('not_a_phone_campaign', `Campaign ${campaignId} is a ${campaign.channel} campaign`);
  }
  const rows = await database.db
    .selectFrom('campaign_recipients')
    .select(['customer_id', 'variant'])
    .where('campaign_id', '=', campaignId)
    .where('state', '=', 'sent')
    // Staff limited to some stores get their stores' customers only.
    .where(customerInStores(actor, sql.ref('customer_id')))
    .orderBy('customer_id')
    .execute();
  const variant = campaign.variants[0]!;
  const result: CallListRow[] = [];
  for (const row of rows) {
    const view = await customer360(database, actor, row.customer_id, { timeline: { limit: 1 } });
    const person = {
      id: row.customer_id,
      name: view.customer.name,
      email: null,
      postal_code: null,
      address: null,
      favourite_category: view.purchases.favourite_categories[0]?.category ?? null,
      last_purchase_at: view.purchases.last_purchase_at ? new Date(view.purchases.last_purchase_at) : null,
      last_product: null,
      notes: [],
    };
    result.push({
      customerId: row.customer_id,
      name: view.customer.name,
      phone: (view.customer as { phone?: string | null }).phone ?? null,
      purpose: campaign.purpose === 'follow_up' ? 'follow_up' : 'marketing',
      tier: view.measures.tier,
      lastPurchaseAt: view.purchases.last_purchase_at,
      favouriteCategories: view.purchases.favourite_categories.map((f) => f.category),
      openIssues: view.open_interactions.map(
        (i) => `${i.interaction_kind}: ${i.subject ?? '(no subject)'} (${i.status})`,
      ),
      followUps: view.follow_ups.map((f) => f.prompt),
      preferenceNotes: view.preference_notes.map((n) => n.note ?? `${n.key}: ${n.value}`),
      script: renderText(
        campaign.content.script ?? variant.bodyText ?? DEFAULT_SCRIPT,
        templateScope(campaign, variant, person),
      ).trim(),
    });
  }
  return result;
}

const CALL_COLUMNS = [
  'customer_id',
  'name',
  'phone',
  'purpose',
  'tier',
  'last_purchase_at',
  'favourite_categories',
  'open_issues',
  'follow_ups',
  'preference_notes',
  'script',
];

export function callListCsv(rows: readonly CallListRow[]): string {
  return (
    csvLine(CALL_COLUMNS) +
    rows
      .map((r) =>
        csvLine([
          String(r.customerId),
          r.name ?? '',
          r.phone ?? '',
          r.purpose,
          r.tier ?? '',
          r.lastPurchaseAt ?? '',
          r.favouriteCategories.join('; '),
          r.openIssues.join('; '),
          r.followUps.join('; '),
          r.preferenceNotes.join('; '),
          r.script,
        ]),
      )
      .join('')
  );
}

export const CALL_OUTCOMES = [
  'answered',
  'no_answer',
  'voicemail',
  'call_back',
  'wrong_number',
  'refused',
] as const;

export const CallOutcomeInput = z.strictObject({
  customerId: z.number().int().positive(),
  campaignId: z.number().int().positive().optional(),
  outcome: z.enum(CALL_OUTCOMES),
  purpose: z.enum(CAMPAIGN_PURPOSES).default('follow_up').describe("a call's purpose; 'sales' is refused"),
  note: z.string().max(5000).optional(),
  durationSeconds: z.number().int().min(0).max(86_400).optional(),
});
export type CallOutcomeInput = z.input<typeof CallOutcomeInput>;

/**
 * Logs one call: an interaction (kind 'call', channel 'phone', closed) with the outcome and note; an
 * answered campaign call marks its touch delivered. The contact policy decides the purpose: a sales call
 * is refused (422 sales_call_refused) and nothing is logged.
 */
export async function logCallOutcome(
  database: Database,
  actor: Actor,
  input: z.output<typeof CallOutcomeInput>,
  now = new Date(),
): Promise<{ interactionId: number }> {
  requirePermission(actor, 'interactions:write');
  await requireCustomerInScope(database, actor, input.customerId);
  const answer = await checkContactPolicy(database, {
    customerIds: [input.customerId],
    channel: 'phone',
    purpose: input.purpose,
    now,
  });
  if (answer.get(input.customerId)?.reasons.includes('sales_call_refused')) {
    throw new KizunaError(
      'sales_call_refused',
      'The contact policy refuses sales calls: calls are follow-ups (how is the purchase, is anything wrong)',
      { field: 'purpose', status: 422 },
    );
  }
  const campaign = input.campaignId !== undefined ? await getCampaign(database, input.campaignId) : null;
  return database.transaction(async (tx) => {
    const row = await tx.db
      .insertInto('interactions')
      .values({
        customer_id: input.customerId,
        kind: 'call',
        channel: 'phone',
        status: 'closed',
        subject: `${campaign ? `${campaign.name}: ` : ''}${input.purpose.replace('_', '-')} call — ${input.outcome.replace('_', ' ')}`,
        body: input.note ?? null,
        owner_staff_id: actor.staffId,
        duration_seconds: input.durationSeconds ?? null,
        opened_at: now,
        resolved_at: now,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    if (campaign && input.outcome === 'answered') {
      await sql`update touches set delivered_at = coalesce(delivered_at, ${now})
        where customer_id = ${input.customerId} and external_id = ${`campaign:${campaign.id}:${input.customerId}`}`.execute(
        tx.db,
      );
    }
    return { interactionId: Number(row.id) };
  });
}
