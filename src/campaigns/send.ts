import { sql } from 'kysely';
import { type Actor, requirePermission } from '../auth/index.ts';
import type { CampaignChannel, Database, RecipientState } from '../db/index.ts';
import { KizunaError } from '../errors.ts';
import { assignCampaign } from './assignment.ts';
import { type Campaign, DEFAULT_COST_PER_TOUCH, getCampaign, recipientCounts } from './campaigns.ts';
import type { ChannelSender, Delivery, OutgoingRecipient } from './channels/channel.ts';
import { touchKeyOf } from './channels/channel.ts';
import { checkContactPolicy, readContactPolicy, refusedOnlyForTier } from './contact-policy.ts';

/**
 * Durable, resumable sending (issue #7). The campaign_recipients row is the send state and the
 * idempotency record:
 *
 * 1. claim a batch: pending → sending (claimed_at, attempts + 1, the stable Message-ID), in one statement
 *    whose inner select takes the rows FOR UPDATE SKIP LOCKED, so two senders never claim the same row;
 * 2. ask the contact policy for the whole batch at send time; refused rows → 'suppressed' with the reason
 *    (a letter refused only for the tier goes by the fallback channel when the campaign names one);
 * 3. deliver by the channel; transient failures are retried with back-off, then → 'failed';
 * 4. in one transaction: insert the touches (external_id `campaign:{id}:{customer}`, unique) and mark the
 *    rows 'sent' (or 'bounced', with the touch's bounced_at).
 *
 * A process killed between 1 and 4 leaves rows in 'sending'. A resume (or a later send, once the rows are
 * older than `staleAfterMs`) puts them back to pending and sends them again with the same Message-ID. So
 * the touch log is exactly-once; SMTP delivery is at-least-once with a stable Message-ID (a receiving
 * system — and the local catcher — can drop the duplicate).
 */

export type SendProgress = {
  total: number;
  done: number;
  sent: number;
  suppressed: number;
  failed: number;
  bounced: number;
};

export type SendOptions = {
  /** One sender per channel the campaign uses (the campaign's, and e-mail when a letter falls back). */
  senders: Partial<Record<CampaignChannel, ChannelSender>>;
  batchSize?: number;
  /** Batches in flight at once (default 2): one's SMTP traffic overlaps the next one's database work. */
  concurrency?: number;
  /** At most this many messages per second (a throttle for the SMTP relay); none: as fast as it goes. */
  ratePerSecond?: number;
  /** Delivery attempts per message within one run (transient errors), with doubling back-off. */
  attempts?: number;
  backoffMs?: number;
  /** Rows left 'sending' longer than this are taken to belong to a dead process and sent again. */
  staleAfterMs?: number;
  /** Take every 'sending' row as abandoned now (after a crash, when no other sender runs). */
  resume?: boolean;
  onProgress?: (progress: SendProgress) => void;
  signal?: AbortSignal;
  now?: () => Date;
};

export type SendResult = SendProgress & { campaignId: number; status: Campaign['status']; seconds: number };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Claimed = { customer_id: number; variant: string; attempts: number; message_id: string };

async function claimBatch(
  database: Database,
  campaignId: number,
  size: number,
  now: Date,
): Promise<Claimed[]> {
  const { rows } = await sql<Claimed>`
    update campaign_recipients r
    set state = 'sending', claimed_at = ${now}, attempts = r.attempts + 1,
        message_id = '<c' || r.campaign_id::text || '.' || r.customer_id::text || '@kizuna>'
    where r.campaign_id = ${campaignId} and r.customer_id in (
      select q.customer_id from campaign_recipients q
      where q.campaign_id = ${campaignId} and q.state = 'pending'
      order by q.customer_id
      limit ${size}
      for update skip locked)
    returning r.customer_id, r.variant, r.attempts, r.message_id`.execute(database.db);
  return rows
    .map((r) => ({ ...r, customer_id: Number(r.customer_id) }))
    .sort((a, b) => a.customer_id - b.customer_id);
}

type Outcome = {
  customerId: number;
  state: Extract<RecipientState, 'sent' | 'suppressed' | 'failed' | 'bounced'>;
  channel: CampaignChannel;
  variant: string;
  reason: string | null;
  subject: string | null;
};

async function record(
  database: Database,
  campaign: Campaign,
  outcomes: readonly Outcome[],
  now: Date,
): Promise<void> {
  if (outcomes.length === 0) return;
  const touched = outcomes.filter((o) => o.state === 'sent' || o.state === 'bounced');
  const costOf = (channel: CampaignChannel) =>
    channel === campaign.channel
      ? campaign.costPerTouch
      : (campaign.content.fallbackCostPerTouch ?? DEFAULT_COST_PER_TOUCH[channel]);
  await database.transaction(async (tx) => {
    const touchIds = new Map<number, number>();
    if (touched.length > 0) {
      const inserted = await tx.db
        .insertInto('touches')
        .values(
          touched.map((o) => ({
            customer_id: o.customerId,
            external_id: touchKeyOf(campaign.id, o.customerId),
            channel: o.channel,
            campaign: campaign.name,
            campaign_id: campaign.id,
            variant: o.variant,
            subject: o.subject?.slice(0, 500) ?? null,
            cost: costOf(o.channel),
            sent_at: now,
            bounced_at: o.state === 'bounced' ? now : null,
          })),
        )
        .onConflict((oc) => oc.column('external_id').doNothing())
        .returning(['id', 'customer_id'])
        .execute();
      for (const row of inserted) touchIds.set(Number(row.customer_id), Number(row.id));
      // A touch written by an earlier run for the same key (exactly once): link to it.
      const missing = touched.filter((o) => !touchIds.has(o.customerId));
      if (missing.length > 0) {
        const existing = await tx.db
          .selectFrom('touches')
          .select(['id', 'customer_id'])
          .where(
            'external_id',
            'in',
            missing.map((o) => touchKeyOf(campaign.id, o.customerId)),
          )
          .execute();
        for (const row of existing) touchIds.set(Number(row.customer_id), Number(row.id));
      }
    }
    const ids = outcomes.map((o) => o.customerId);
    await sql`
      update campaign_recipients r
      set state = v.state, channel = v.channel, reason = v.reason, touch_id = v.touch_id,
          sent_at = case when v.state in ('sent', 'bounced') then ${now}::timestamptz else r.sent_at end
      from (select unnest(${ids}::bigint[]) as customer_id,
                   unnest(${outcomes.map((o) => o.state)}::text[]) as state,
                   unnest(${outcomes.map((o) => o.channel)}::text[]) as channel,
                   unnest(${outcomes.map((o) => o.reason)}::text[]) as reason,
                   unnest(${outcomes.map((o) => touchIds.get(o.customerId) ?? null)}::bigint[]) as touch_id) v
      where r.campaign_id = ${campaign.id} and r.customer_id = v.customer_id and r.state = 'sending'`.execute(
      tx.db,
    );
  });
}

/** Decides each claimed row's channel, or its refusal, by the contact policy (one statement per channel). */
async function applyPolicy(
  database: Database,
  campaign: Campaign,
  claimed: readonly Claimed[],
  now: Date,
): Promise<{ go: OutgoingRecipient[]; refused: Outcome[] }> {
  const policy = await readContactPolicy(database);
  const ids = claimed.map((c) => c.customer_id);
  const answers = await checkContactPolicy(database, {
    customerIds: ids,
    channel: campaign.channel,
    purpose: campaign.purpose,
    now,
    policy,
  });
  const fallback = campaign.fallbackChannel;
  const tierOnly = fallback ? ids.filter((id) => refusedOnlyForTier(answers.get(id) ?? null)) : [];
  const fallbackAnswers = tierOnly.length
    ? await checkContactPolicy(database, {
        customerIds: tierOnly,
        channel: fallback!,
        purpose: campaign.purpose,
        now,
        policy,
      })
    : new Map();
  const go: OutgoingRecipient[] = [];
  const refused: Outcome[] = [];
  for (const row of claimed) {
    const refusal = answers.get(row.customer_id) ?? null;
    const base = {
      customerId: row.customer_id,
      variant: row.variant,
      messageId: row.message_id,
      attempts: row.attempts,
    };
    if (refusal === null) {
      go.push({ ...base, channel: campaign.channel });
    } else if (
      fallback &&
      fallbackAnswers.has(row.customer_id) &&
      fallbackAnswers.get(row.customer_id) === null
    ) {
      go.push({ ...base, channel: fallback });
    } else {
      const fallbackRefusal = fallbackAnswers.get(row.customer_id);
      refused.push({
        customerId: row.customer_id,
        state: 'suppressed',
        channel: campaign.channel,
        variant: row.variant,
        reason: fallbackRefusal
          ? `${refusal.reason}; ${fallback}: ${fallbackRefusal.reason}`
          : refusal.reason,
        subject: null,
      });
    }
  }
  return { go, refused };
}

/** Delivers by each recipient's channel, retrying transient failures with doubling back-off. */
async function deliverWithRetries(
  campaign: Campaign,
  recipients: readonly OutgoingRecipient[],
  options: SendOptions,
): Promise<Map<number, Delivery>> {
  const results = new Map<number, Delivery>();
  let pending = [...recipients];
  const attempts = options.attempts ?? 3;
  for (let attempt = 1; attempt <= attempts && pending.length > 0; attempt++) {
    if (attempt > 1) await sleep((options.backoffMs ?? 200) * 2 ** (attempt - 2));
    const byChannel = new Map<CampaignChannel, OutgoingRecipient[]>();
    for (const r of pending) byChannel.set(r.channel, [...(byChannel.get(r.channel) ?? []), r]);
    const deliveries: Delivery[] = [];
    for (const [channel, group] of byChannel) {
      const sender = options.senders[channel];
      if (!sender)
        throw new KizunaError('no_sender', `No ${channel} sender configured for campaign ${campaign.id}`);
      deliveries.push(...(await sender.deliver(campaign, group)));
    }
    for (const d of deliveries) results.set(d.customerId, d);
    const retry = new Set(deliveries.filter((d) => d.outcome === 'transient').map((d) => d.customerId));
    pending = pending.filter((r) => retry.has(r.customerId));
  }
  return results;
}

/**
 * Sends a campaign (assigning it first when needed): every pending recipient once, in batches, with the
 * contact policy checked at send time. Resumable: see the comment at the top of this file.
 */
export async function sendCampaign(
  database: Database,
  actor: Actor,
  campaignId: number,
  options: SendOptions,
): Promise<SendResult> {
  requirePermission(actor, 'campaigns:send');
  const clock = options.now ?? (() => new Date());
  const started = performance.now();
  let campaign = await getCampaign(database, campaignId);
  if (campaign.status === 'cancelled') {
    throw new KizunaError('campaign_cancelled', `Campaign ${campaignId} was cancelled`, { status: 409 });
  }
  if (campaign.assignedAt === null) {
    await assignCampaign(database, actor, campaignId);
    campaign = await getCampaign(database, campaignId);
  }
  const staleBefore = options.resume
    ? clock()
    : new Date(clock().getTime() - (options.staleAfterMs ?? 10 * 60_000));
  await sql`
    update campaign_recipients set state = 'pending'
    where campaign_id = ${campaignId} and state = 'sending' and claimed_at <= ${staleBefore}`.execute(
    database.db,
  );
  const counts = await recipientCounts(database, campaignId);
  // Nothing left to send (a repeated send of a finished campaign): the campaign stays as it is.
  if (counts.pending || counts.sending) {
    await sql`
      update campaigns set status = 'sending', send_started_at = coalesce(send_started_at, ${clock()})
      where id = ${campaignId} and status in ('assigned', 'sending', 'sent')`.execute(database.db);
  }
  const progress: SendProgress = {
    total: (counts.pending ?? 0) + (counts.sending ?? 0),
    done: 0,
    sent: 0,
    suppressed: 0,
    failed: 0,
    bounced: 0,
  };
  const batchSize = options.batchSize ?? 500;
  const workers = Math.max(1, options.concurrency ?? 2);
  // Each worker sends its share of the throttle.
  const rate = options.ratePerSecond ? options.ratePerSecond / workers : undefined;
  let stopped = false;
  const worker = async () => {
    while (!stopped) {
      if (options.signal?.aborted)
        throw new KizunaError('send_aborted', `Sending campaign ${campaignId} was stopped`);
      const now = clock();
      const claimed = await claimBatch(database, campaignId, batchSize, now);
      if (claimed.length === 0) return;
      const { go, refused } = await applyPolicy(database, campaign, claimed, now);
      const outcomes: Outcome[] = [...refused];
      const chunk = rate ? Math.max(1, Math.ceil(rate / 10)) : go.length;
      for (let i = 0; i < go.length; i += chunk) {
        const part = go.slice(i, i + chunk);
        const partStarted = performance.now();
        const deliveries = await deliverWithRetries(campaign, part, options);
        for (const r of part) {
          const d = deliveries.get(r.customerId);
          const state = d?.outcome === 'sent' ? 'sent' : d?.outcome === 'bounced' ? 'bounced' : 'failed';
          // A fallback row keeps why it did not go by the campaign's channel; a failure keeps its error.
          const reason =
            state !== 'sent'
              ? (d?.error ?? 'not delivered')
              : r.channel !== campaign.channel
                ? `tier_not_allowed:${campaign.channel}`
                : null;
          outcomes.push({
            customerId: r.customerId,
            state,
            channel: r.channel,
            variant: r.variant,
            reason,
            subject: d?.subject ?? null,
          });
        }
        if (rate) {
          const due = (part.length / rate) * 1000 - (performance.now() - partStarted);
          if (due > 0) await sleep(due);
        }
      }
      await record(database, campaign, outcomes, clock());
      for (const o of outcomes) progress[o.state] += 1;
      progress.done += outcomes.length;
      options.onProgress?.({ ...progress });
    }
  };
  // Several workers, so that one batch's SMTP traffic overlaps the next one's database work; claims skip
  // each other's rows. The first failure stops the others after their current batch.
  const results = await Promise.allSettled(
    Array.from({ length: workers }, () =>
      worker().catch((error: unknown) => {
        stopped = true;
        throw error;
      }),
    ),
  );
  const failure = results.find((r) => r.status === 'rejected');
  if (failure) throw (failure as PromiseRejectedResult).reason;

  const left = await recipientCounts(database, campaignId);
  if (!left.pending && !left.sending) {
    await sql`update campaigns set status = 'sent', sent_at = ${clock()} where id = ${campaignId} and status in ('assigned', 'sending')`.execute(
      database.db,
    );
  }
  const final = await getCampaign(database, campaignId);
  return { ...progress, campaignId, status: final.status, seconds: (performance.now() - started) / 1000 };
}
