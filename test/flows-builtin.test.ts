import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_ACTOR } from '../src/auth/index.ts';
import type { Database } from '../src/db/index.ts';
import {
  BUILTIN_FLOWS,
  createFlow,
  enableBuiltinFlow,
  SimulatedClock,
  setFlowEnabled,
  tick,
  updateFlow,
} from '../src/flows/index.ts';
import { parseRules, saveSegment } from '../src/segments/index.ts';
import { loadCustomers } from './campaigns-fixture.ts';
import { addOrder, addProduct, recordingMailer, runFor } from './flows-fixture.ts';
import { openTestDatabase } from './helpers/database.ts';

const DAY = 86_400_000;
const HOUR = 3_600_000;

/** A built-in flow switched on without its holdout, so each test follows every customer. */
async function enableWithoutHoldout(database: Database, key: string, clock: SimulatedClock) {
  const builtin = BUILTIN_FLOWS.find((b) => b.key === key)!;
  const flow = await enableBuiltinFlow(database, key, CLI_ACTOR, clock);
  return updateFlow(database, flow.id, { definition: { ...builtin.definition, holdoutShare: 0 } }, CLI_ACTOR);
}

describe('built-in flows: each customer path on a simulated clock', () => {
  let database: Database;
  let lens: number;
  let book: number;
  let berlin: number;
  let ownerStaffId: number;

  beforeAll(async () => {
    database = await openTestDatabase();
    await loadCustomers(database, [
      { id: 1, name: 'Lens Tokyo', consents: { email: true }, tier: 'regular' },
      { id: 2, name: 'Lens Berlin', consents: { email: true }, tier: 'regular' },
      { id: 3, name: 'Regular Lapsing', consents: { email: true }, tier: 'regular' },
      { id: 4, name: 'Regular Returning', consents: { email: true }, tier: 'regular' },
      { id: 5, name: 'New Loyal', consents: { email: true }, tier: 'loyal' },
      { id: 6, name: 'Always Loyal', consents: { email: true }, tier: 'loyal' },
      { id: 7, name: 'Loyal Complainer', consents: { email: true }, tier: 'loyal' },
      { id: 8, name: 'Regular Complainer', consents: { email: true }, tier: 'regular' },
    ]);
    lens = await addProduct(database, 'CL-30', 'contact_lenses', 30);
    book = await addProduct(database, 'BK-1', 'books');
    const store = await database.db
      .insertInto('stores')
      .values({ code: 'BER', name: 'Berlin', timezone: 'Europe/Berlin' })
      .returning('id')
      .executeTakeFirstOrThrow();
    berlin = Number(store.id);
    await database.db.updateTable('customers').set({ home_store_id: berlin }).where('id', '=', 2).execute();
    const staff = await database.db
      .insertInto('staff')
      .values({ code: 'S1', name: 'Sato', role: 'store_staff' })
      .returning('id')
      .executeTakeFirstOrThrow();
    ownerStaffId = Number(staff.id);
    await database.db
      .updateTable('customers')
      .set({ account_owner_staff_id: ownerStaffId })
      .where('id', '=', 5)
      .execute();
  });
  afterAll(() => database.close());

  it("repeat-cycle reminder: 7 days before the lens's 30-day cycle, at 10:00 in the customer's zone", async () => {
    const clock = new SimulatedClock('2026-07-01T00:00:00Z');
    await enableWithoutHoldout(database, 'repeat_cycle', clock);
    const bought = new Date('2026-07-01T03:00:00Z'); // 12:00 in Tokyo, 05:00 in Berlin
    await addOrder(database, 1, bought, lens);
    await addOrder(database, 2, bought, lens);
    await addOrder(database, 8, bought, book); // not a lens: no entry
    const mailer = recordingMailer();
    await runFor(database, clock, mailer, 22, 12); // nothing is due before day 23
    expect(mailer.sent).toHaveLength(0);
    await runFor(database, clock, mailer, 4, 1);
    const sentAt = (id: number) =>
      mailer.sent.filter((m) => m.customerId === id).map((m) => new Date(m.at).toISOString());
    expect(mailer.sent.map((m) => m.customerId).sort()).toEqual([1, 2]);
    // Hand-worked: purchase + 30 − 7 days = 2026-07-24 03:00 UTC; the next 10:00 after it is
    // 2026-07-25 10:00 JST = 01:00 UTC in Tokyo, and 2026-07-24 10:00 CEST = 08:00 UTC in Berlin.
    const touch = async (id: number) =>
      (
        await database.db
          .selectFrom('touches')
          .select(['sent_at', 'subject'])
          .where('customer_id', '=', id)
          .executeTakeFirstOrThrow()
      ).sent_at.toISOString();
    expect(await touch(1)).toBe('2026-07-25T01:00:00.000Z');
    expect(await touch(2)).toBe('2026-07-24T08:00:00.000Z');
    expect(sentAt(1)).toHaveLength(1);
    await setFlowEnabled(database, 'Repeat-cycle reminder', false, clock);
  });

  it('win-back: a regular whose gap passes twice their own interval gets two mails; one who comes back gets one', async () => {
    const clock = new SimulatedClock('2026-09-01T00:00:00Z');
    await enableWithoutHoldout(database, 'win_back', clock);
    const t0 = clock.now().getTime();
    // Orders 50 days apart: interval 50, threshold max(60, 2 × 50) = 100 days after the last → day 1.
    for (const id of [3, 4]) {
      for (const back of [199, 149, 99]) await addOrder(database, id, new Date(t0 - back * DAY), book);
    }
    const mailer = recordingMailer();
    await runFor(database, clock, mailer, 2, 6);
    expect(mailer.sent.map((m) => [m.customerId, m.step.subject])).toEqual([
      [3, 'We miss you'],
      [4, 'We miss you'],
    ]);
    const trigger = await database.db
      .selectFrom('flow_enrollments')
      .select('trigger_data')
      .where('customer_id', '=', 3)
      .executeTakeFirstOrThrow();
    expect(trigger.trigger_data.intervalDays).toBe(50);
    await addOrder(database, 4, new Date(t0 + 5 * DAY), book);
    await runFor(database, clock, mailer, 16, 12);
    expect(mailer.sent.map((m) => [m.customerId, m.step.subject])).toEqual([
      [3, 'We miss you'],
      [4, 'We miss you'],
      [3, 'Still thinking of you'],
    ]);
    const states = await database.db
      .selectFrom('flow_enrollments as e')
      .innerJoin('flows as f', 'f.id', 'e.flow_id')
      .select(['e.customer_id', 'e.state'])
      .where('f.builtin', '=', 'win_back')
      .orderBy('e.customer_id')
      .execute();
    expect(states).toEqual([
      { customer_id: 3, state: 'completed' },
      { customer_id: 4, state: 'goal' },
    ]);
    await setFlowEnabled(database, 'Win-back for lapsing regulars', false, clock);
  });

  it('loyal welcome: a customer who became loyal gets the mail, a task for their account owner and a tag', async () => {
    const clock = new SimulatedClock('2026-10-01T00:00:00Z');
    // Last period: 5 was semi-loyal, 6 already loyal. Now (measures) both are loyal.
    await database.db
      .insertInto('tier_snapshots')
      .values([
        {
          period_end: '2026-05-31',
          customer_id: 5,
          tier: 'semi_loyal',
          total_spend: 100,
          orders_count: 2,
          tenure_days: 100,
        },
        {
          period_end: '2026-05-31',
          customer_id: 6,
          tier: 'loyal',
          total_spend: 900,
          orders_count: 9,
          tenure_days: 900,
        },
      ])
      .execute();
    await enableWithoutHoldout(database, 'loyal_welcome', clock);
    const mailer = recordingMailer();
    await runFor(database, clock, mailer, 1, 6);
    expect(mailer.sent.map((m) => [m.customerId, m.step.subject])).toEqual([
      [5, 'Thank you for your loyalty'],
    ]);
    const tasks = await database.db.selectFrom('flow_tasks').selectAll().execute();
    expect(tasks.map((t) => [t.customer_id, t.title, t.assignee_staff_id, t.purpose])).toEqual([
      [5, 'Personal thank-you to a new loyal customer', ownerStaffId, 'follow_up'],
    ]);
    const customer = await database.db
      .selectFrom('customers')
      .select('tags')
      .where('id', '=', 5)
      .executeTakeFirstOrThrow();
    expect(customer.tags).toContain('loyal-welcomed');
    // The same change is not welcomed twice on later scans.
    await runFor(database, clock, mailer, 1, 6);
    expect(mailer.sent).toHaveLength(1);
    await setFlowEnabled(database, 'Loyal welcome', false, clock);
  });

  it('post-complaint: a follow-up mail 3 days after resolution despite the quiet period; a call task for the loyal one only', async () => {
    const clock = new SimulatedClock('2026-11-01T00:00:00Z');
    await enableWithoutHoldout(database, 'post_complaint', clock);
    const resolved = new Date('2026-11-01T06:00:00Z');
    for (const id of [7, 8]) {
      await database.db
        .insertInto('interactions')
        .values({
          customer_id: id,
          kind: 'complaint',
          channel: 'store',
          status: 'resolved',
          subject: 'Squeaky shoe',
          opened_at: new Date(resolved.getTime() - 2 * DAY),
          resolved_at: resolved,
        })
        .execute();
    }
    const mailer = recordingMailer();
    await runFor(database, clock, mailer, 5, 1);
    expect(mailer.sent.map((m) => m.customerId)).toEqual([7, 8]);
    expect(mailer.sent[0]!.triggerData?.subject).toBe('Squeaky shoe');
    // Entered at the 06:00 UTC tick; + 3 days = 11-04 15:00 JST → the next 10:00 JST is on 11-05 (01:00 UTC).
    const sentAt = await database.db
      .selectFrom('touches')
      .select('sent_at')
      .where('customer_id', '=', 7)
      .executeTakeFirstOrThrow();
    expect(sentAt.sent_at.toISOString()).toBe('2026-11-05T01:00:00.000Z');
    const tasks = await database.db
      .selectFrom('flow_tasks')
      .select(['customer_id', 'title'])
      .where('title', 'like', 'Personal call%')
      .execute();
    expect(tasks).toEqual([{ customer_id: 7, title: 'Personal call after a resolved complaint' }]);
    // A marketing mail in the same days would have been refused: the quiet period holds.
    const other = await database.db
      .selectFrom('flow_enrollments as e')
      .innerJoin('flows as f', 'f.id', 'e.flow_id')
      .select(['e.customer_id', 'e.state', 'e.exit_reason'])
      .where('f.builtin', '=', 'post_complaint')
      .orderBy('e.customer_id')
      .execute();
    expect(other).toEqual([
      { customer_id: 7, state: 'completed', exit_reason: null },
      { customer_id: 8, state: 'exited', exit_reason: 'branch_exit' },
    ]);
    await setFlowEnabled(database, 'Post-complaint follow-up', false, clock);
  });
});

describe('triggers: Nth purchase, birthday, entering a saved segment, and not reaching back before switch-on', () => {
  let database: Database;
  let book: number;

  beforeAll(async () => {
    database = await openTestDatabase();
    await loadCustomers(database, [
      { id: 1, name: 'Twice', consents: { email: true }, tags: [] },
      { id: 2, name: 'Once', consents: { email: true }, tags: [] },
      { id: 3, name: 'Old', consents: { email: true }, tags: [] },
      { id: 4, name: 'Birthday', consents: { email: true }, tags: [] },
    ]);
    book = await addProduct(database, 'BK-2', 'books');
    await database.db
      .updateTable('customers')
      .set({ birth_date: '1990-12-03' })
      .where('id', '=', 4)
      .execute();
  });
  afterAll(() => database.close());

  it('enters on the second purchase only, and ignores orders placed before the flow was switched on', async () => {
    const clock = new SimulatedClock('2026-12-01T00:00:00Z');
    const t0 = clock.now().getTime();
    await addOrder(database, 3, new Date(t0 - 10 * DAY), book);
    await addOrder(database, 3, new Date(t0 - HOUR), book); // second purchase, but before switch-on
    const flow = await createFlow(
      database,
      {
        name: 'Second purchase',
        definition: {
          trigger: { type: 'nth_purchase', n: 2 },
          steps: [{ kind: 'send', subject: 'Two!', bodyText: 'x' }],
        },
      },
      CLI_ACTOR,
    );
    await setFlowEnabled(database, flow.id, true, clock);
    await addOrder(database, 1, new Date(t0 + HOUR), book);
    await addOrder(database, 2, new Date(t0 + HOUR), book);
    await addOrder(database, 1, new Date(t0 + 2 * HOUR), book);
    const mailer = recordingMailer();
    await runFor(database, clock, mailer, 1, 3);
    expect(mailer.sent.map((m) => m.customerId)).toEqual([1]);
    await setFlowEnabled(database, flow.id, false, clock);
  });

  it('birthday: enters on the day, once a year', async () => {
    const clock = new SimulatedClock('2026-12-01T00:00:00Z');
    const flow = await createFlow(
      database,
      {
        name: 'Birthday',
        definition: {
          trigger: { type: 'birthday' },
          steps: [{ kind: 'send', subject: 'Happy birthday', bodyText: 'x' }],
        },
      },
      CLI_ACTOR,
    );
    await setFlowEnabled(database, flow.id, true, clock);
    const mailer = recordingMailer();
    await runFor(database, clock, mailer, 5, 6);
    expect(mailer.sent.map((m) => [m.customerId, new Date(m.at).getTime() > 0])).toEqual([[4, true]]);
    const entry = await database.db
      .selectFrom('flow_enrollments')
      .select(['occurrence', 'entered_at'])
      .where('flow_id', '=', flow.id)
      .executeTakeFirstOrThrow();
    expect(entry.occurrence).toBe('birthday:2026');
    expect(entry.entered_at.toISOString().slice(0, 10)).toBe('2026-12-03');
    await setFlowEnabled(database, flow.id, false, clock);
  });

  it('entering a saved segment: members at switch-on are remembered, only newcomers enter', async () => {
    const clock = new SimulatedClock('2026-12-10T00:00:00Z');
    await database.db
      .updateTable('customers')
      .set({ tags: ['fan'] })
      .where('id', '=', 1)
      .execute();
    const segment = await saveSegment(database, CLI_ACTOR, {
      name: 'Fans',
      rules: parseRules({ kind: 'tag', tags: ['fan'] }),
    });
    const flow = await createFlow(
      database,
      {
        name: 'New fans',
        definition: {
          trigger: { type: 'segment_entered', segmentId: segment.id },
          steps: [{ kind: 'send', subject: 'Welcome, fan', bodyText: 'x' }],
        },
      },
      CLI_ACTOR,
    );
    await setFlowEnabled(database, flow.id, true, clock);
    const mailer = recordingMailer();
    await runFor(database, clock, mailer, 1, 6);
    expect(mailer.sent).toHaveLength(0);
    await database.db
      .updateTable('customers')
      .set({ tags: ['fan'] })
      .where('id', '=', 2)
      .execute();
    await runFor(database, clock, mailer, 1, 6);
    expect(mailer.sent.map((m) => m.customerId)).toEqual([2]);
  });
});

it('a tick with no flow switched on does nothing', async () => {
  const database = await openTestDatabase();
  try {
    const result = await tick(database, {
      clock: new SimulatedClock('2026-01-01T00:00:00Z'),
      mailer: recordingMailer(),
    });
    expect(result).toMatchObject({ entered: [], executed: 0, batches: 0 });
  } finally {
    await database.close();
  }
});
