import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../src/api/index.ts';
import { CLI_ACTOR } from '../src/auth/index.ts';
import {
  type ChannelSender,
  createCampaign,
  DEFAULT_CONTACT_POLICY,
  sendCampaign,
  updateContactPolicy,
} from '../src/campaigns/index.ts';
import type { CampaignChannel, CampaignPurpose, ConsentChannel, Database, Tier } from '../src/db/index.ts';
import { tokenHeaders } from './helpers/api.ts';
import { openTestDatabase } from './helpers/database.ts';

/**
 * Property: for random policies, consents, complaints, prior touches and audiences, sending a campaign
 * produces a message for exactly the customers a plain in-memory reading of the rules allows — never one
 * for a customer without consent, over a cap, in a complaint's quiet period, of a tier a costly channel
 * excludes, erased, merged or do-not-contact. The check below is written from the rules in the brief,
 * not from the code.
 */

const DAY = 86_400_000;
const NOW = new Date('2026-07-01T12:00:00Z');
const TIERS: Tier[] = ['loyal', 'semi_loyal', 'regular', 'new', 'lapsed'];
const TOUCH_CHANNELS = ['email', 'step_mail', 'newsletter', 'letter', 'dm', 'phone', 'sms'] as const;

type Person = {
  tier: Tier | null;
  doNotContact: boolean;
  erased: boolean;
  merged: boolean;
  /** Consent history, oldest first (distinct times). */
  consents: { channel: ConsentChannel; granted: boolean; hoursAgo: number }[];
  complaints: { daysAgo: number; status: 'new' | 'open' | 'waiting' | 'resolved' | 'closed' }[];
  touches: { channel: (typeof TOUCH_CHANNELS)[number]; hoursAgo: number }[];
};

type Policy = {
  caps: Record<'overall' | CampaignChannel, { max: number; days: number }>;
  quietDays: number;
  letterTiers: Tier[];
  phoneTiers: Tier[];
};

const capArb = fc.record({ max: fc.integer({ min: 0, max: 3 }), days: fc.integer({ min: 1, max: 40 }) });
const policyArb: fc.Arbitrary<Policy> = fc.record({
  caps: fc.record({ overall: capArb, email: capArb, newsletter: capArb, letter: capArb, phone: capArb }),
  quietDays: fc.integer({ min: 0, max: 30 }),
  letterTiers: fc.subarray(TIERS),
  phoneTiers: fc.subarray(TIERS),
});
const rare = fc.constantFrom(false, false, false, false, false, true);
const personArb: fc.Arbitrary<Person> = fc.record({
  tier: fc.option(fc.constantFrom(...TIERS), { nil: null }),
  // Rare, so that most cases reach the consent, tier, quiet-period and cap rules.
  doNotContact: rare,
  erased: rare,
  merged: rare,
  consents: fc.array(
    fc.record({
      channel: fc.constantFrom<ConsentChannel>('email', 'letter', 'phone', 'sms'),
      granted: fc.boolean(),
      // Some in the future of NOW: they do not count yet.
      hoursAgo: fc.integer({ min: -48, max: 2000 }),
    }),
    { maxLength: 5 },
  ),
  complaints: fc.array(
    fc.record({
      daysAgo: fc.integer({ min: -2, max: 60 }),
      status: fc.constantFrom('new', 'open', 'waiting', 'resolved', 'closed') as fc.Arbitrary<
        Person['complaints'][number]['status']
      >,
    }),
    { maxLength: 2 },
  ),
  touches: fc.array(
    fc.record({ channel: fc.constantFrom(...TOUCH_CHANNELS), hoursAgo: fc.integer({ min: -24, max: 1200 }) }),
    { maxLength: 5 },
  ),
});
const caseArb = fc.record({
  people: fc.array(personArb, { minLength: 1, maxLength: 10 }),
  policy: policyArb,
  channel: fc.constantFrom<CampaignChannel>('email', 'newsletter', 'letter', 'phone'),
  purpose: fc.constantFrom<CampaignPurpose>('marketing', 'follow_up', 'sales'),
  fallback: fc.boolean(),
});

const CONSENT: Record<CampaignChannel, ConsentChannel> = {
  email: 'email',
  newsletter: 'email',
  letter: 'letter',
  phone: 'phone',
};
const COUNTED: Record<CampaignChannel, string[]> = {
  email: ['email', 'step_mail'],
  newsletter: ['newsletter'],
  letter: ['letter', 'dm'],
  phone: ['phone'],
};

/** The rules, read plainly. */
function allowed(p: Person, channel: CampaignChannel, purpose: CampaignPurpose, policy: Policy): boolean {
  if (p.erased || p.merged || p.doNotContact) return false;
  if (channel === 'phone' && purpose === 'sales') return false;
  // Consent: the latest row for the channel at NOW is a grant (the generator's times are distinct).
  const history = p.consents
    .map((k, i) => ({ ...k, i }))
    .filter((k) => k.channel === CONSENT[channel] && k.hoursAgo >= 0)
    .sort((a, b) => b.hoursAgo - a.hoursAgo || a.i - b.i);
  const latest = history.at(-1);
  if (!latest?.granted) return false;
  if (channel === 'letter' && (p.tier === null || !policy.letterTiers.includes(p.tier))) return false;
  if (channel === 'phone' && (p.tier === null || !policy.phoneTiers.includes(p.tier))) return false;
  if (purpose !== 'follow_up') {
    for (const c of p.complaints) {
      if (c.daysAgo < 0) continue; // not opened yet at NOW
      const stillOpen = c.status !== 'resolved' && c.status !== 'closed';
      if (stillOpen || c.daysAgo < policy.quietDays) return false;
    }
  }
  const within = (days: number, channels: string[] | null) =>
    p.touches.filter(
      (t) => t.hoursAgo >= 0 && t.hoursAgo < days * 24 && (channels === null || channels.includes(t.channel)),
    ).length;
  if (within(policy.caps[channel].days, COUNTED[channel]) >= policy.caps[channel].max) return false;
  if (within(policy.caps.overall.days, null) >= policy.caps.overall.max) return false;
  return true;
}

/** Only the tier stands in the way of a letter (the fallback's condition). */
function onlyTierRefusesLetter(p: Person, purpose: CampaignPurpose, policy: Policy): boolean {
  const everyTier = { ...policy, letterTiers: TIERS };
  return (
    !allowed(p, 'letter', purpose, policy) && allowed({ ...p, tier: 'loyal' }, 'letter', purpose, everyTier)
  );
}

describe('contact policy (property)', () => {
  let database: Database;
  let run = 0;

  beforeAll(async () => {
    database = await openTestDatabase();
    await database.db.insertInto('customers').values({ id: 100_000, name: 'survivor' }).execute();
  });
  afterAll(() => database.close());

  async function reset(): Promise<void> {
    await sql`delete from campaign_recipients`.execute(database.db);
    await sql`delete from touches`.execute(database.db);
    await sql`delete from campaign_variants`.execute(database.db);
    await sql`delete from campaigns`.execute(database.db);
    await sql`delete from segment_snapshot_members`.execute(database.db);
    await sql`delete from segment_snapshots`.execute(database.db);
    await sql`delete from segments`.execute(database.db);
    await sql`delete from consents`.execute(database.db);
    await sql`delete from interactions`.execute(database.db);
    await sql`delete from customer_measures`.execute(database.db);
    await sql`delete from customers where id < 100000`.execute(database.db);
  }

  async function load(people: readonly Person[]): Promise<number[]> {
    const ids = people.map((_, i) => i + 1);
    await database.db
      .insertInto('customers')
      .values(
        people.map((p, i) => ({
          id: i + 1,
          name: p.erased ? null : `P${i + 1}`,
          email: p.erased ? null : `p${i + 1}@example.jp`,
          do_not_contact: p.doNotContact,
          erased_at: p.erased ? new Date(NOW.getTime() - DAY) : null,
          merged_into_customer_id: p.merged ? 100_000 : null,
        })),
      )
      .execute();
    const consents = people.flatMap((p, i) =>
      p.consents.map((k, j) => ({
        customer_id: i + 1,
        channel: k.channel,
        granted: k.granted,
        // Distinct times even when two rows share hoursAgo: later rows a second later.
        recorded_at: new Date(NOW.getTime() - k.hoursAgo * 3_600_000 - 1000 + j),
        source: 'test',
      })),
    );
    if (consents.length) await database.db.insertInto('consents').values(consents).execute();
    const complaints = people.flatMap((p, i) =>
      p.complaints.map((c) => ({
        customer_id: i + 1,
        kind: 'complaint' as const,
        channel: 'phone' as const,
        status: c.status,
        opened_at: new Date(NOW.getTime() - c.daysAgo * DAY - 60_000),
      })),
    );
    if (complaints.length) await database.db.insertInto('interactions').values(complaints).execute();
    const touches = people.flatMap((p, i) =>
      p.touches.map((t) => ({
        customer_id: i + 1,
        channel: t.channel,
        sent_at: new Date(NOW.getTime() - t.hoursAgo * 3_600_000 - 60_000),
      })),
    );
    if (touches.length) await database.db.insertInto('touches').values(touches).execute();
    const measured = people.map((p, i) => ({ p, id: i + 1 })).filter(({ p }) => p.tier !== null);
    if (measured.length) {
      await database.db
        .insertInto('customer_measures')
        .values(
          measured.map(({ p, id }) => ({
            customer_id: id,
            as_of: '2026-06-30',
            orders_count: 1,
            purchase_days: 1,
            total_spend: 1,
            gross_margin: 0,
            returns_amount: 0,
            tier: p.tier,
          })),
        )
        .execute();
    }
    const segment = await database.db
      .insertInto('segments')
      .values({ name: `s${run}`, rules: '{}', owner_name: 'test' })
      .returning('id')
      .executeTakeFirstOrThrow();
    const snapshot = await database.db
      .insertInto('segment_snapshots')
      .values({ segment_id: segment.id, rules: '{}', as_of: NOW, members: ids.length, taken_by_name: 'test' })
      .returning('id')
      .executeTakeFirstOrThrow();
    await database.db
      .insertInto('segment_snapshot_members')
      .values(ids.map((customer_id) => ({ customer_id, snapshot_id: snapshot.id })))
      .execute();
    return [snapshot.id];
  }

  it('produces a message for exactly the customers the rules allow', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, async ({ people, policy, channel, purpose, fallback }) => {
        run += 1;
        await reset();
        const [snapshotId] = await load(people);
        await updateContactPolicy(
          database,
          {
            frequencyCaps: policy.caps,
            complaintQuietDays: policy.quietDays,
            tiersAllowed: { letter: policy.letterTiers, phone: policy.phoneTiers },
          },
          null,
        );
        const withFallback = fallback && channel === 'letter';
        const campaign = await createCampaign(database, CLI_ACTOR, {
          name: `run ${run}`,
          channel,
          purpose,
          audience: { snapshotId: snapshotId! },
          ...(withFallback ? { fallbackChannel: 'email' } : {}),
        });
        const produced: { id: number; channel: CampaignChannel }[] = [];
        const sender: ChannelSender = {
          channels: ['email', 'newsletter', 'letter', 'phone'],
          async deliver(_c, recipients) {
            produced.push(...recipients.map((r) => ({ id: r.customerId, channel: r.channel })));
            return recipients.map((r) => ({ customerId: r.customerId, outcome: 'sent' as const }));
          },
        };
        await sendCampaign(database, CLI_ACTOR, campaign.id, {
          senders: { email: sender, newsletter: sender, letter: sender, phone: sender },
          now: () => NOW,
          batchSize: 4,
        });
        const expected = people.flatMap((p, i) => {
          if (allowed(p, channel, purpose, policy)) return [{ id: i + 1, channel }];
          if (
            withFallback &&
            onlyTierRefusesLetter(p, purpose, policy) &&
            allowed(p, 'email', purpose, policy)
          ) {
            return [{ id: i + 1, channel: 'email' as const }];
          }
          return [];
        });
        expect(produced.sort((a, b) => a.id - b.id)).toEqual(expected);
        const suppressed = await database.db
          .selectFrom('campaign_recipients')
          .select('customer_id')
          .where('campaign_id', '=', campaign.id)
          .where('state', '=', 'suppressed')
          .execute();
        expect(suppressed.length).toBe(people.length - expected.length);
      }),
      { numRuns: 60, seed: 20261129 },
    );
  }, 240_000);

  it('the policy is read and changed through the API (owner only), with documented defaults', async () => {
    await updateContactPolicy(
      database,
      { ...DEFAULT_CONTACT_POLICY, frequencyCaps: DEFAULT_CONTACT_POLICY.frequencyCaps },
      null,
    );
    const app = buildServer(database);
    try {
      const marketer = await tokenHeaders(database, 'marketer');
      const read = await app.inject({ method: 'GET', url: '/api/contact-policy', headers: marketer });
      expect(read.json()).toEqual({
        frequencyCaps: {
          overall: { max: 6, days: 30 },
          email: { max: 4, days: 30 },
          newsletter: { max: 4, days: 30 },
          letter: { max: 1, days: 30 },
          phone: { max: 1, days: 30 },
        },
        complaintQuietDays: 14,
        tiersAllowed: { letter: ['loyal', 'semi_loyal'], phone: ['loyal', 'semi_loyal'] },
      });
      const refused = await app.inject({
        method: 'PATCH',
        url: '/api/contact-policy',
        headers: marketer,
        payload: { complaintQuietDays: 0 },
      });
      expect(refused.statusCode).toBe(403);
      const owner = await tokenHeaders(database, 'owner');
      const changed = await app.inject({
        method: 'PATCH',
        url: '/api/contact-policy',
        headers: owner,
        payload: { frequencyCaps: { letter: { max: 2, days: 60 } }, tiersAllowed: { letter: ['loyal'] } },
      });
      expect(changed.statusCode, changed.body).toBe(200);
      expect(changed.json().frequencyCaps.letter).toEqual({ max: 2, days: 60 });
      expect(changed.json().frequencyCaps.email).toEqual({ max: 4, days: 30 });
      expect(changed.json().tiersAllowed).toEqual({ letter: ['loyal'], phone: ['loyal', 'semi_loyal'] });
      const bad = await app.inject({
        method: 'PATCH',
        url: '/api/contact-policy',
        headers: owner,
        payload: { frequencyCaps: { letter: { max: -1, days: 60 } } },
      });
      expect(bad.statusCode).toBe(400);
      expect(bad.json().error.field).toBe('frequencyCaps.letter.max');
    } finally {
      await app.close();
    }
  });
});
