import { type Actor, requirePermission } from '../auth/index.ts';
import { fromCents, toCents } from '../commerce/index.ts';
import type { CampaignChannel, Database } from '../db/index.ts';
import { assignCampaign } from './assignment.ts';
import { DEFAULT_COST_PER_TOUCH, getCampaign } from './campaigns.ts';
import { checkContactPolicy, readContactPolicy, refusedOnlyForTier } from './contact-policy.ts';

/**
 * Who a campaign would reach, and who not and why, without sending: the campaign is assigned (its audience
 * snapshot taken) when it was not yet, then the contact policy is asked for every pending recipient as it
 * would be at send time. A letter campaign with an e-mail fallback shows who moves to e-mail. The cost
 * estimate multiplies each channel's reach by its cost per touch.
 */
export type CampaignPreview = {
  campaignId: number;
  recipients: number;
  holdout: number;
  /** Would be sent, per channel (the campaign's, and its fallback). */
  reach: Partial<Record<CampaignChannel, number>>;
  /** Refused, per decisive reason. */
  excluded: Record<string, number>;
  /** The first excluded customers (by id), with every reason that applies. */
  excludedCustomers: { customerId: number; name: string | null; tier: string | null; reasons: string[] }[];
  cost: { channel: CampaignChannel; touches: number; costPerTouch: string; cost: string }[];
  totalCost: string;
  budget: string | null;
  overBudget: boolean;
};

const CHUNK = 5000;

export async function previewCampaign(
  database: Database,
  actor: Actor,
  campaignId: number,
  options: { limit?: number; now?: Date } = {},
): Promise<CampaignPreview> {
  requirePermission(actor, 'campaigns:write');
  await assignCampaign(database, actor, campaignId);
  const campaign = await getCampaign(database, campaignId);
  const now = options.now ?? new Date();
  const limit = options.limit ?? 50;
  const policy = await readContactPolicy(database);
  const rows = await database.db
    .selectFrom('campaign_recipients as r')
    .leftJoin('customers as c', 'c.id', 'r.customer_id')
    .leftJoin('customer_measures as m', 'm.customer_id', 'r.customer_id')
    .select(['r.customer_id', 'c.name', 'm.tier'])
    .where('r.campaign_id', '=', campaignId)
    .where('r.state', 'in', ['pending', 'sending'])
    .orderBy('r.customer_id')
    .execute();
  const reach: Partial<Record<CampaignChannel, number>> = {};
  const excluded: Record<string, number> = {};
  const excludedCustomers: CampaignPreview['excludedCustomers'] = [];
  for (let i = 0; i < rows.length; i += CHUNK) {
    const chunk = rows.slice(i, i + CHUNK);
    const ids = chunk.map((r) => r.customer_id);
    const base = { channel: campaign.channel, purpose: campaign.purpose, now, policy };
    const answers = await checkContactPolicy(database, { ...base, customerIds: ids });
    const fallback = campaign.fallbackChannel;
    const tierOnly = fallback ? ids.filter((id) => refusedOnlyForTier(answers.get(id) ?? null)) : [];
    const fallbackAnswers = tierOnly.length
      ? await checkContactPolicy(database, { ...base, channel: fallback!, customerIds: tierOnly })
      : new Map();
    for (const row of chunk) {
      const refusal = answers.get(row.customer_id) ?? null;
      if (refusal === null) {
        reach[campaign.channel] = (reach[campaign.channel] ?? 0) + 1;
      } else if (
        fallback &&
        fallbackAnswers.has(row.customer_id) &&
        fallbackAnswers.get(row.customer_id) === null
      ) {
        reach[fallback] = (reach[fallback] ?? 0) + 1;
      } else {
        const fallbackRefusal = fallbackAnswers.get(row.customer_id);
        const reasons = fallbackRefusal
          ? [...refusal.reasons, ...fallbackRefusal.reasons.map((r: string) => `${fallback}: ${r}`)]
          : refusal.reasons;
        excluded[refusal.reason] = (excluded[refusal.reason] ?? 0) + 1;
        if (excludedCustomers.length < limit) {
          excludedCustomers.push({ customerId: row.customer_id, name: row.name, tier: row.tier, reasons });
        }
      }
    }
  }
  const costOf = (channel: CampaignChannel) =>
    channel === campaign.channel
      ? campaign.costPerTouch
      : (campaign.content.fallbackCostPerTouch ?? DEFAULT_COST_PER_TOUCH[channel]);
  const cost = (Object.entries(reach) as [CampaignChannel, number][]).map(([channel, touches]) => ({
    channel,
    touches,
    costPerTouch: costOf(channel),
    cost: fromCents(toCents(costOf(channel)) * BigInt(touches)),
  }));
  const total = cost.reduce((sum, c) => sum + toCents(c.cost), 0n);
  return {
    campaignId,
    recipients: (campaign.recipients.pending ?? 0) + (campaign.recipients.sending ?? 0),
    holdout: campaign.recipients.held_out ?? 0,
    reach,
    excluded,
    excludedCustomers,
    cost,
    totalCost: fromCents(total),
    budget: campaign.budget,
    overBudget: campaign.budget !== null && total > toCents(campaign.budget),
  };
}
