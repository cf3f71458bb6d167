import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_ACTOR } from '../src/auth/index.ts';
import {
  assignCampaign,
  type ChannelSender,
  createCampaign,
  emailChannel,
  type MailCatcher,
  sendCampaign,
  sendDueCampaigns,
  startMailCatcher,
} from '../src/campaigns/index.ts';
import type { Database, Tier } from '../src/db/index.ts';
import { loadCustomers, type ShopCustomer } from './campaigns-fixture.ts';
import { openTestDatabase } from './helpers/database.ts';

/** A snapshot of the given customers, written directly (the segment itself does not matter here). */
async function snapshotOf(database: Database, ids: readonly number[], name: string): Promise<number> {
  const segment = await database.db
    .insertInto('segments')
    .values({ name, rules: JSON.stringify({ kind: 'tag', tags: ['audience'] }), owner_name: 'test' })
    .returning('id')
    .executeTakeFirstOrThrow();
  const snapshot = await database.db
    .insertInto('segment_snapshots')
    .values({
      segment_id: segment.id,
      rules: '{}',
      as_of: new Date(),
      members: ids.length,
      taken_by_name: 'test',
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  await database.db
    .insertInto('segment_snapshot_members')
    .values(ids.map((customer_id) => ({ customer_id, snapshot_id: snapshot.id })))
    .execute();
  return snapshot.id;
}

/** The first 8 hex digits of md5(text) as a number: the assignment's documented hash, computed here in JS. */
const md5Number = (text: string) =>
  Number.parseInt(createHash('md5').update(text).digest('hex').slice(0, 8), 16);

/** A channel that records what it was asked to deliver and delivers nothing. */
function recordingSender(): ChannelSender & { delivered: number[] } {
  const delivered: number[] = [];
  return {
    channels: ['email', 'letter', 'phone', 'newsletter'],
    delivered,
    async deliver(_campaign, recipients) {
      delivered.push(...recipients.map((r) => r.customerId));
      return recipients.map((r) => ({ customerId: r.customerId, outcome: 'sent' as const, subject: 's' }));
    },
  };
}

describe('assignment: seeded, stratified holdout and weighted variants', () => {
  let database: Database;
  // Tier sizes chosen so that share × n has fractions below and above one half.
  const SIZES: [Tier, number][] = [
    ['loyal', 137],
    ['semi_loyal', 251],
    ['regular', 300],
    ['new', 215],
    ['lapsed', 97],
  ];
  const customers: ShopCustomer[] = [];
  let snapshotId: number;

  beforeAll(async () => {
    database = await openTestDatabase();
    let id = 1;
    for (const [tier, n] of SIZES) {
      for (let i = 0; i < n; i++, id++) {
        customers.push({ id, name: `C${id}`, tier, consents: { email: true } });
      }
    }
    await loadCustomers(database, customers);
    snapshotId = await snapshotOf(
      database,
      customers.map((c) => c.id),
      'everyone',
    );
  });
  afterAll(() => database.close());

  async function assigned(name: string, seed: number) {
    const campaign = await createCampaign(database, CLI_ACTOR, {
      name,
      channel: 'email',
      audience: { snapshotId },
      holdoutShare: 0.1,
      seed,
      variants: [
        { code: 'A', weight: 1 },
        { code: 'B', weight: 2 },
      ],
    });
    const summary = await assignCampaign(database, CLI_ACTOR, campaign.id);
    const rows = await database.db
      .selectFrom('campaign_recipients')
      .select(['customer_id', 'variant', 'holdout', 'stratum', 'state'])
      .where('campaign_id', '=', campaign.id)
      .orderBy('customer_id')
      .execute();
    return { campaign, summary, rows };
  }

  it('holds out exactly round(10 % × n) of each tier, the members an md5 computed here picks', async () => {
    const { summary, rows } = await assigned('holdout seed 42', 42);
    // 13.7 → 14, 25.1 → 25, 30, 21.5 → 22, 9.7 → 10
    expect(Object.fromEntries(summary.byStratum.map((s) => [s.stratum, s.holdout]))).toEqual({
      lapsed: 10,
      loyal: 14,
      new: 22,
      regular: 30,
      semi_loyal: 25,
    });
    expect(summary.members).toBe(1000);
    expect(summary.holdout).toBe(101);

    const expectedHoldout = new Set<number>();
    const expectedVariant = new Map<number, string>();
    for (const [tier, n] of SIZES) {
      const ids = customers.filter((c) => c.tier === tier).map((c) => c.id);
      const byHash = [...ids].sort((a, b) => md5Number(`42:h:${a}`) - md5Number(`42:h:${b}`) || a - b);
      const take = Math.round(0.1 * n);
      for (const id of byHash.slice(0, take)) expectedHoldout.add(id);
      const rest = byHash
        .slice(take)
        .sort((a, b) => md5Number(`42:v:${a}`) - md5Number(`42:v:${b}`) || a - b);
      // Weights 1:2 → the first third (rounded up) of the rest by the variant hash is A.
      for (const [p, id] of rest.entries()) expectedVariant.set(id, p * 3 < rest.length ? 'A' : 'B');
    }
    expect(new Set(rows.filter((r) => r.holdout).map((r) => r.customer_id))).toEqual(expectedHoldout);
    for (const row of rows) {
      if (row.holdout) {
        expect(row).toMatchObject({ variant: null, state: 'held_out' });
      } else {
        expect(row.variant).toBe(expectedVariant.get(row.customer_id));
        expect(row.state).toBe('pending');
      }
      expect(row.stratum).toBe(customers[row.customer_id - 1]!.tier);
    }
    // regular: 270 left → A 90, B 180.
    const regularA = rows.filter((r) => r.stratum === 'regular' && r.variant === 'A').length;
    expect(regularA).toBe(90);
  });

  it('is reproducible for a seed and changes with the seed; assigning again changes nothing', async () => {
    const first = await assigned('repro 7 a', 7);
    const second = await assigned('repro 7 b', 7);
    const other = await assigned('repro 8', 8);
    const strip = (rows: typeof first.rows) => rows.map((r) => [r.customer_id, r.variant, r.holdout]);
    expect(strip(second.rows)).toEqual(strip(first.rows));
    expect(strip(other.rows)).not.toEqual(strip(first.rows));
    const again = await assignCampaign(database, CLI_ACTOR, first.campaign.id);
    expect(again).toEqual(first.summary);
  });

  it('throttles to the rate asked for', async () => {
    const { campaign, rows } = await assigned('throttled', 11);
    const reachable = rows.filter((r) => !r.holdout).length;
    // Only the first 30 customers are sent now: the rest are parked as suppressed by hand.
    const first = rows
      .filter((r) => !r.holdout)
      .slice(0, 30)
      .map((r) => r.customer_id);
    await database.db
      .updateTable('campaign_recipients')
      .set({ state: 'suppressed', reason: 'test' })
      .where('campaign_id', '=', campaign.id)
      .where('state', '=', 'pending')
      .where('customer_id', 'not in', first)
      .execute();
    expect(reachable).toBeGreaterThan(30);
    const sender = recordingSender();
    const started = performance.now();
    const result = await sendCampaign(database, CLI_ACTOR, campaign.id, {
      senders: { email: sender },
      ratePerSecond: 20,
    });
    const seconds = (performance.now() - started) / 1000;
    expect(result.sent).toBe(30);
    // 30 messages at 20 per second: at least 1.5 s (less a scheduling tolerance).
    expect(seconds).toBeGreaterThan(1.35);
  });

  it('the holdout receives nothing', async () => {
    const { campaign, rows } = await assigned('holdout gets nothing', 3);
    const sender = recordingSender();
    const result = await sendCampaign(database, CLI_ACTOR, campaign.id, { senders: { email: sender } });
    const holdout = new Set(rows.filter((r) => r.holdout).map((r) => r.customer_id));
    expect(result.sent).toBe(1000 - holdout.size);
    expect(sender.delivered.filter((id) => holdout.has(id))).toEqual([]);
    const touched = await database.db
      .selectFrom('touches')
      .select('customer_id')
      .where('campaign_id', '=', campaign.id)
      .execute();
    expect(touched.filter((t) => holdout.has(t.customer_id))).toEqual([]);
    expect(touched.length).toBe(1000 - holdout.size);
  });
});

describe('scheduled campaigns', () => {
  let database: Database;
  let snapshotId: number;
  const at = (iso: string) => new Date(iso);

  beforeAll(async () => {
    database = await openTestDatabase();
    const customers = Array.from({ length: 20 }, (_, i) => ({
      id: i + 1,
      name: `S${i + 1}`,
      consents: { email: true },
    }));
    await loadCustomers(database, customers);
    snapshotId = await snapshotOf(
      database,
      customers.map((c) => c.id),
      'scheduled audience',
    );
  });
  afterAll(() => database.close());

  const scheduled = (name: string, scheduledAt: string) =>
    createCampaign(database, CLI_ACTOR, {
      name,
      channel: 'email',
      audience: { snapshotId },
      scheduledAt,
      variants: [{ code: 'A' }],
    });

  it('sends each campaign once, when its time has come, and never one that was cancelled', async () => {
    const morning = await scheduled('morning', '2026-05-01T09:00:00+09:00');
    const evening = await scheduled('evening', '2026-05-01T18:00:00+09:00');
    const dropped = await scheduled('dropped', '2026-05-01T08:00:00+09:00');
    await database.db
      .updateTable('campaigns')
      .set({ status: 'cancelled' })
      .where('id', '=', dropped.id)
      .execute();
    const sender = recordingSender();
    const send = (now: string) => sendDueCampaigns(database, { senders: { email: sender }, now: at(now) });

    expect(await send('2026-05-01T08:59:00+09:00')).toEqual([]);
    const first = await send('2026-05-01T09:00:00+09:00');
    expect(first.map((r) => [r.campaignId, r.sent])).toEqual([[morning.id, 20]]);
    // The next tick finds nothing new to send for the morning campaign.
    expect(await send('2026-05-01T12:00:00+09:00')).toEqual([]);
    const second = await send('2026-05-01T18:30:00+09:00');
    expect(second.map((r) => [r.campaignId, r.sent])).toEqual([[evening.id, 20]]);
    expect(sender.delivered).toHaveLength(40);
    const touches = await database.db
      .selectFrom('touches')
      .select(['campaign_id'])
      .where('campaign_id', 'in', [morning.id, evening.id, dropped.id])
      .execute();
    expect(touches.filter((t) => t.campaign_id === dropped.id)).toEqual([]);
    expect(touches).toHaveLength(40);
  });
});

describe('kill and resume: exactly one touch, each Message-ID caught once', () => {
  let database: Database;
  let catcher: MailCatcher;
  const N = 300;

  beforeAll(async () => {
    database = await openTestDatabase();
    catcher = await startMailCatcher();
    const customers = Array.from({ length: N }, (_, i) => ({
      id: i + 1,
      name: `C${i + 1}`,
      consents: { email: true },
    }));
    await loadCustomers(database, customers);
  });
  afterAll(async () => {
    await catcher.close();
    await database.close();
  });

  it('a crash after SMTP accepted part of a batch, and one right after a claim, are resumed without a second touch', async () => {
    const snapshotId = await snapshotOf(
      database,
      Array.from({ length: N }, (_, i) => i + 1),
      'resume audience',
    );
    const campaign = await createCampaign(database, CLI_ACTOR, {
      name: 'resume',
      channel: 'email',
      audience: { snapshotId },
    });
    const email = emailChannel(database, { smtpUrl: catcher.url });
    let batches = 0;
    // Batch 1 goes through. Batch 2: the first 40 reach the SMTP server, then the process "dies" before
    // anything is marked sent.
    const crashing: ChannelSender = {
      channels: ['email'],
      async deliver(c, recipients) {
        batches += 1;
        if (batches === 2) {
          await email.deliver(c, recipients.slice(0, 40));
          throw new Error('killed');
        }
        return email.deliver(c, recipients);
      },
    };
    await expect(
      sendCampaign(database, CLI_ACTOR, campaign.id, {
        senders: { email: crashing },
        batchSize: 100,
        concurrency: 1,
      }),
    ).rejects.toThrow('killed');
    const states = async () =>
      Object.fromEntries(
        (
          await database.db
            .selectFrom('campaign_recipients')
            .select(['state', sql<number>`count(*)::int`.as('n')])
            .where('campaign_id', '=', campaign.id)
            .groupBy('state')
            .execute()
        ).map((r) => [r.state, r.n]),
      );
    expect(await states()).toEqual({ sent: 100, sending: 100, pending: 100 });

    // A second sender that does not know the first died leaves fresh 'sending' rows alone; a crash right
    // after its claim (nothing delivered) leaves that batch 'sending' too.
    const dying: ChannelSender = {
      channels: ['email'],
      async deliver() {
        throw new Error('killed right after the claim');
      },
    };
    await expect(
      sendCampaign(database, CLI_ACTOR, campaign.id, {
        senders: { email: dying },
        batchSize: 100,
        concurrency: 1,
      }),
    ).rejects.toThrow('killed right after the claim');
    expect(await states()).toEqual({ sent: 100, sending: 200 });

    // The operator resumes: the abandoned rows are sent again under their Message-IDs.
    const result = await sendCampaign(database, CLI_ACTOR, campaign.id, {
      senders: { email },
      batchSize: 100,
      resume: true,
    });
    await email.close?.();
    expect(result).toMatchObject({ sent: 200, failed: 0, status: 'sent' });
    expect(await states()).toEqual({ sent: 300 });

    const touches = await database.db
      .selectFrom('touches')
      .select(['customer_id', sql<number>`count(*)::int`.as('n')])
      .where('campaign_id', '=', campaign.id)
      .groupBy('customer_id')
      .execute();
    expect(touches.length).toBe(N);
    expect(touches.every((t) => t.n === 1)).toBe(true);

    // SMTP is at-least-once: the 40 handed over before the crash arrived twice, and the catcher kept one.
    expect(catcher.stats()).toMatchObject({
      received: 340,
      duplicates: 40,
      kept: 300,
      uniqueMessageIds: 300,
    });
    const twice = Array.from({ length: N }, (_, i) => i + 1).filter(
      (id) => catcher.deliveries(`<c${campaign.id}.${id}@kizuna>`) === 2,
    );
    expect(twice).toEqual(Array.from({ length: 40 }, (_, i) => 101 + i));
    const kept = await catcher.list({ limit: 1000 });
    expect(new Set(kept.map((m) => m.messageId)).size).toBe(300);
  });
});
