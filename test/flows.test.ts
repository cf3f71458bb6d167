import { sql } from 'kysely';
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
import { loadCustomers } from './campaigns-fixture.ts';
import { addOrder, addProduct, recordingMailer, runFor, touchesOf } from './flows-fixture.ts';
import { openTestDatabase } from './helpers/database.ts';

const DAY = 86_400_000;
const START = new Date('2026-07-01T00:00:00Z');

const welcome = BUILTIN_FLOWS.find((b) => b.key === 'welcome')!;

async function enrollmentsOf(database: Database, customerId: number) {
  return database.db
    .selectFrom('flow_enrollments')
    .select(['id', 'flow_id', 'version', 'state', 'exit_reason', 'holdout', 'entered_at'])
    .where('customer_id', '=', customerId)
    .orderBy('id')
    .execute();
}

describe('the welcome series on a simulated clock', () => {
  let database: Database;
  let product: number;
  const clock = new SimulatedClock(START);

  beforeAll(async () => {
    database = await openTestDatabase();
    await loadCustomers(database, [
      { id: 1, name: 'Aiko', consents: { email: true } },
      { id: 2, name: 'Ben', consents: { email: true } },
    ]);
    product = await addProduct(database, 'BOOK-1', 'books');
    const flow = await enableBuiltinFlow(database, 'welcome', CLI_ACTOR, clock);
    // No holdout here: this test follows one customer's path (the holdout has its own test).
    await updateFlow(
      database,
      flow.id,
      { definition: { ...welcome.definition, holdoutShare: 0 } },
      CLI_ACTOR,
    );
  });
  afterAll(() => database.close());

  it('sends day 1, day 7 and day 30, then completes; a customer who buys again on day 12 gets no day-30 mail', async () => {
    const mailer = recordingMailer();
    const bought = new Date(START.getTime() + 3_600_000);
    await addOrder(database, 1, bought, product);
    await addOrder(database, 2, bought, product);
    clock.set(new Date(bought.getTime() + 60_000));
    await tick(database, { clock, mailer });
    expect((await enrollmentsOf(database, 1)).map((e) => [e.version, e.state])).toEqual([[2, 'active']]);
    expect(mailer.sent).toHaveLength(0);

    // Day 1 (counted from entry, one minute after the purchase).
    await runFor(database, clock, mailer, 1, 1);
    expect(mailer.sent.map((m) => [m.customerId, m.step.subject])).toEqual([
      [1, 'Thank you for your first visit'],
      [2, 'Thank you for your first visit'],
    ]);
    // Ben buys again on day 12.
    await runFor(database, clock, mailer, 11, 6);
    await addOrder(database, 2, new Date(bought.getTime() + 12 * DAY), product);
    await runFor(database, clock, mailer, 25, 6);
    const subjects = (id: number) =>
      mailer.sent.filter((m) => m.customerId === id).map((m) => m.step.subject);
    expect(subjects(1)).toEqual([
      'Thank you for your first visit',
      'Getting the most out of your purchase',
      'We would be glad to see you again',
    ]);
    expect(subjects(2)).toEqual(['Thank you for your first visit', 'Getting the most out of your purchase']);
    expect((await enrollmentsOf(database, 1)).map((e) => e.state)).toEqual(['completed']);
    expect((await enrollmentsOf(database, 2)).map((e) => [e.state, e.exit_reason])).toEqual([
      ['goal', 'goal'],
    ]);

    // Sent on day 1, 7 and 30 after entry (entry = the first tick after the purchase).
    const entered = (await enrollmentsOf(database, 1))[0]!.entered_at.getTime();
    const touches = await touchesOf(database, 1);
    expect(touches.map((t) => t.channel)).toEqual(['step_mail', 'step_mail', 'step_mail']);
    expect(touches.map((t) => t.flow)).toEqual(['Welcome series', 'Welcome series', 'Welcome series']);
    const daysAfter = touches.map((t) => (t.sent_at.getTime() - entered) / DAY);
    // Each mail goes at the first tick (hourly, then every 6 h) at or after its due day.
    expect(daysAfter[0]).toBeCloseTo(1, 1);
    expect(daysAfter[1]).toBeGreaterThanOrEqual(7);
    expect(daysAfter[1]).toBeLessThan(7.26);
    expect(daysAfter[2]).toBeGreaterThanOrEqual(30);
    expect(daysAfter[2]).toBeLessThan(30.26);
  });

  it('a second purchase is not a first purchase: nobody enters twice', async () => {
    const count = await database.db
      .selectFrom('flow_enrollments')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(count.n)).toBe(2);
  });
});

describe('steps: branch, task, tag, exit; suppression by consent and by the frequency cap', () => {
  let database: Database;
  const clock = new SimulatedClock(START);

  beforeAll(async () => {
    database = await openTestDatabase();
    await loadCustomers(database, [
      { id: 1, name: 'Vip', tier: 'loyal', consents: { email: true }, tags: ['vip'] },
      { id: 2, name: 'Plain', tier: 'regular', consents: { email: true }, tags: [] },
      { id: 3, name: 'NoConsent', tier: 'regular', consents: { email: false }, tags: [] },
      { id: 4, name: 'Capped', tier: 'regular', consents: { email: true }, tags: [] },
    ]);
    await database.db.updateTable('customers').set({ account_owner_staff_id: null }).execute();
    // Customer 4 had 4 e-mails in the last 30 days: the default e-mail cap (4 per 30 days) is reached.
    await database.db
      .insertInto('touches')
      .values(
        [1, 2, 3, 4].map((d) => ({
          customer_id: 4,
          channel: 'email' as const,
          campaign: 'earlier',
          sent_at: new Date(START.getTime() - d * DAY),
        })),
      )
      .execute();
    const flow = await createFlow(
      database,
      {
        name: 'Event follow-up',
        definition: {
          trigger: { type: 'event', name: 'visited_fair' },
          steps: [
            { kind: 'branch', rules: { kind: 'tag', tags: ['vip'] }, ifMatch: 'vip-task', otherwise: 'mail' },
            {
              id: 'vip-task',
              kind: 'task',
              title: 'Thank them in person',
              prompt: 'They came to the fair.',
              dueDays: 2,
            },
            { kind: 'tag', add: ['fair-2026'], remove: ['vip'], fields: { fair: 'yes' } },
            { kind: 'exit', reason: 'vip_done' },
            {
              id: 'mail',
              kind: 'send',
              subject: 'Thanks for visiting',
              bodyText: 'Hello {{ customer.name }}',
            },
          ],
        },
      },
      CLI_ACTOR,
    );
    await setFlowEnabled(database, flow.id, true, clock);
  });
  afterAll(() => database.close());

  it('routes each customer by the rule tree and records what every step did', async () => {
    const mailer = recordingMailer();
    const at = new Date(START.getTime() + 60_000);
    await database.db
      .insertInto('flow_events')
      .values([1, 2, 3, 4].map((id) => ({ customer_id: id, name: 'visited_fair', occurred_at: at })))
      .execute();
    clock.set(new Date(at.getTime() + 60_000));
    await tick(database, { clock, mailer });
    expect(mailer.sent.map((m) => m.customerId)).toEqual([2]);

    const events = await database.db
      .selectFrom('flow_step_events')
      .select(['customer_id', 'step_index', 'outcome', 'reason'])
      .orderBy('customer_id')
      .orderBy('id')
      .execute();
    expect(events.map((e) => [e.customer_id, e.step_index, e.outcome, e.reason])).toEqual([
      [1, 0, 'branch_then', null],
      [1, 1, 'task_created', null],
      [1, 2, 'tagged', null],
      [1, 3, 'exited', 'vip_done'],
      [2, 0, 'branch_else', null],
      [2, 4, 'sent', null],
      [3, 0, 'branch_else', null],
      [3, 4, 'suppressed', 'no_consent:email'],
      [4, 0, 'branch_else', null],
      [4, 4, 'suppressed', 'frequency_cap'],
    ]);
    const task = await database.db.selectFrom('flow_tasks').selectAll().executeTakeFirstOrThrow();
    expect([task.customer_id, task.title, task.purpose, task.state]).toEqual([
      1,
      'Thank them in person',
      'follow_up',
      'open',
    ]);
    expect(task.due_at.getTime() - clock.now().getTime()).toBe(2 * DAY);
    const vip = await database.db
      .selectFrom('customers')
      .select(['tags', 'custom_fields'])
      .where('id', '=', 1)
      .executeTakeFirstOrThrow();
    expect(vip.tags).toEqual(['fair-2026']);
    expect(vip.custom_fields).toEqual({ fair: 'yes' });
    const states = await database.db
      .selectFrom('flow_enrollments')
      .select(['customer_id', 'state', 'exit_reason'])
      .orderBy('customer_id')
      .execute();
    expect(states.map((s) => [s.customer_id, s.state, s.exit_reason])).toEqual([
      [1, 'exited', 'vip_done'],
      [2, 'completed', null],
      [3, 'completed', null],
      [4, 'completed', null],
    ]);
    // Only the mail that went is a touch (the refused ones are not).
    const touches = await database.db
      .selectFrom('touches')
      .select('customer_id')
      .where('channel', '=', 'step_mail')
      .execute();
    expect(touches.map((t) => t.customer_id)).toEqual([2]);
  });

  it('enters once per event: a later tick over the same window adds nobody', async () => {
    clock.advance({ hours: 1 });
    const result = await tick(database, { clock, mailer: recordingMailer() });
    expect(result.entered[0]!.entered).toBe(0);
  });
});

describe('the durable scheduler: kill and resume, leases, retries with back-off', () => {
  let database: Database;
  const clock = new SimulatedClock(START);
  let flowId: number;

  beforeAll(async () => {
    database = await openTestDatabase();
    await loadCustomers(
      database,
      Array.from({ length: 5 }, (_, i) => ({ id: i + 1, name: `K${i + 1}`, consents: { email: true } })),
    );
    const flow = await createFlow(
      database,
      {
        name: 'One mail',
        definition: {
          trigger: { type: 'event', name: 'ping' },
          steps: [{ kind: 'send', subject: 'Pong', bodyText: 'Pong for {{ customer.name }}' }],
        },
      },
      CLI_ACTOR,
    );
    flowId = flow.id;
    await setFlowEnabled(database, flow.id, true, clock);
  });
  afterAll(() => database.close());

  async function ping(ids: number[]) {
    clock.advance({ seconds: 1 });
    await database.db
      .insertInto('flow_events')
      .values(ids.map((id) => ({ customer_id: id, name: 'ping', occurred_at: clock.now() })))
      .execute();
    clock.advance({ seconds: 1 });
  }
  const stepTouches = async (id: number) =>
    (await touchesOf(database, id)).filter((t) => t.external_id?.startsWith('flow:'));

  it('a worker killed between claim and send: after its lease another worker runs the step exactly once', async () => {
    await ping([1]);
    const mailer = recordingMailer();
    const crash = new Error('killed');
    await expect(
      tick(database, {
        clock,
        mailer,
        workerId: 'doomed',
        leaseMs: 60_000,
        hooks: {
          afterClaim: () => {
            throw crash;
          },
        },
      }),
    ).rejects.toBe(crash);
    const job = await database.db
      .selectFrom('flow_jobs')
      .selectAll()
      .where('customer_id', '=', 1)
      .executeTakeFirstOrThrow();
    expect([job.state, job.locked_by, job.attempts]).toEqual(['running', 'doomed', 1]);
    // Within the lease, nobody else takes it.
    clock.advance({ seconds: 30 });
    await tick(database, { clock, mailer, workerId: 'rescuer' });
    expect(mailer.sent).toHaveLength(0);
    clock.advance({ seconds: 31 });
    await tick(database, { clock, mailer, workerId: 'rescuer' });
    expect(mailer.sent.map((m) => m.customerId)).toEqual([1]);
    expect(await stepTouches(1)).toHaveLength(1);
    const done = await database.db
      .selectFrom('flow_jobs')
      .selectAll()
      .where('customer_id', '=', 1)
      .executeTakeFirstOrThrow();
    expect([done.state, done.locked_by, done.attempts]).toEqual(['done', 'rescuer', 2]);
  });

  it('a worker killed after the SMTP answer but before the commit: the mail goes again with the same Message-ID, one touch', async () => {
    await ping([2]);
    const mailer = recordingMailer();
    await expect(
      tick(database, {
        clock,
        mailer,
        workerId: 'doomed',
        leaseMs: 60_000,
        hooks: {
          afterSend: () => {
            throw new Error('killed after send');
          },
        },
      }),
    ).rejects.toThrow('killed after send');
    expect(await stepTouches(2)).toHaveLength(0);
    clock.advance({ minutes: 2 });
    await tick(database, { clock, mailer, workerId: 'rescuer' });
    expect(mailer.sent.map((m) => m.customerId)).toEqual([2, 2]);
    expect(mailer.sent[0]!.messageId).toBe(mailer.sent[1]!.messageId);
    expect(await stepTouches(2)).toHaveLength(1);
  });

  it('a worker whose lease ran out cannot finish jobs another worker took over (nothing recorded twice)', async () => {
    await ping([3]);
    const slowMailer = recordingMailer();
    const fastMailer = recordingMailer();
    // The slow worker claims with a 1-minute lease; while it "sends", the clock passes the lease and the
    // fast worker takes the job over and finishes it; the slow worker's commit must then be refused.
    await tick(database, {
      clock,
      mailer: slowMailer,
      workerId: 'slow',
      leaseMs: 60_000,
      maxBatches: 1,
      hooks: {
        afterSend: async () => {
          clock.advance({ minutes: 2 });
          await tick(database, { clock, mailer: fastMailer, workerId: 'fast', scan: false });
        },
      },
    });
    expect(fastMailer.sent.map((m) => m.customerId)).toEqual([3]);
    expect(slowMailer.sent.map((m) => m.customerId)).toEqual([3]);
    expect(await stepTouches(3)).toHaveLength(1);
    const events = await database.db
      .selectFrom('flow_step_events')
      .select('outcome')
      .where('customer_id', '=', 3)
      .execute();
    expect(events.map((e) => e.outcome)).toEqual(['sent']);
  });

  it('retries a transient SMTP failure with doubling back-off, then sends', async () => {
    await ping([4]);
    const mailer = recordingMailer((_mail, attempt) => (attempt <= 2 ? 'transient' : null));
    const options = { clock, mailer, retryBaseMs: 60_000 };
    await tick(database, options); // attempt 1 fails → due in 60 s
    const job = async () =>
      database.db.selectFrom('flow_jobs').selectAll().where('customer_id', '=', 4).executeTakeFirstOrThrow();
    const first = await job();
    expect(first.state).toBe('pending');
    expect(first.due_at.getTime() - clock.now().getTime()).toBe(60_000);
    expect(first.last_error).toBe('simulated transient');
    clock.advance({ seconds: 59 });
    await tick(database, options);
    expect((await job()).attempts).toBe(1);
    clock.advance({ seconds: 1 });
    await tick(database, options); // attempt 2 fails → due in 120 s
    const second = await job();
    expect([second.attempts, second.due_at.getTime() - clock.now().getTime()]).toEqual([2, 120_000]);
    clock.advance({ seconds: 120 });
    await tick(database, options);
    expect(mailer.sent.map((m) => m.customerId)).toEqual([4]);
    expect((await job()).state).toBe('done');
    expect(await stepTouches(4)).toHaveLength(1);
  });

  it('records a permanent failure and moves on', async () => {
    await ping([5]);
    const mailer = recordingMailer(() => 'bounced');
    await tick(database, { clock, mailer });
    const events = await database.db
      .selectFrom('flow_step_events')
      .select(['outcome', 'reason'])
      .where('customer_id', '=', 5)
      .execute();
    expect(events).toEqual([{ outcome: 'bounced', reason: 'bounced:simulated bounced' }]);
    expect(await stepTouches(5)).toHaveLength(0);
    const [enrollment] = await enrollmentsOf(database, 5);
    expect(enrollment!.state).toBe('completed');
    expect(flowId).toBeGreaterThan(0);
  });
});

describe('versions: editing a running flow does not move customers already in it', () => {
  let database: Database;
  const clock = new SimulatedClock(START);

  beforeAll(async () => {
    database = await openTestDatabase();
    await loadCustomers(database, [
      { id: 1, name: 'Early', consents: { email: true } },
      { id: 2, name: 'Late', consents: { email: true } },
    ]);
  });
  afterAll(() => database.close());

  it('the early customer finishes on version 1, the late one runs version 2', async () => {
    const v1 = {
      trigger: { type: 'event', name: 'joined' },
      steps: [
        { kind: 'wait', days: 2 },
        { kind: 'send', subject: 'Version one', bodyText: 'one' },
      ],
    };
    const flow = await createFlow(database, { name: 'Versioned', definition: v1 }, CLI_ACTOR);
    await setFlowEnabled(database, flow.id, true, clock);
    const mailer = recordingMailer();
    const post = async (id: number) => {
      clock.advance({ seconds: 1 });
      await database.db
        .insertInto('flow_events')
        .values({ customer_id: id, name: 'joined', occurred_at: clock.now() })
        .execute();
      clock.advance({ minutes: 1 });
      await tick(database, { clock, mailer });
    };
    await post(1);
    // Same definition: no new version.
    expect((await updateFlow(database, flow.id, { definition: v1 }, CLI_ACTOR)).currentVersion).toBe(1);
    const v2 = {
      ...v1,
      steps: [
        { kind: 'wait', days: 1 },
        { kind: 'send', subject: 'Version two, first', bodyText: 'two' },
        { kind: 'send', subject: 'Version two, second', bodyText: 'two again' },
      ],
    };
    expect((await updateFlow(database, flow.id, { definition: v2 }, CLI_ACTOR)).currentVersion).toBe(2);
    await post(2);
    await runFor(database, clock, mailer, 3, 3);
    const byCustomer = (id: number) => mailer.sent.filter((m) => m.customerId === id);
    expect(byCustomer(1).map((m) => [m.version, m.step.subject])).toEqual([[1, 'Version one']]);
    expect(byCustomer(2).map((m) => [m.version, m.step.subject])).toEqual([
      [2, 'Version two, first'],
      [2, 'Version two, second'],
    ]);
    const enrollments = await database.db
      .selectFrom('flow_enrollments')
      .select(['customer_id', 'version', 'state'])
      .orderBy('customer_id')
      .execute();
    expect(enrollments).toEqual([
      { customer_id: 1, version: 1, state: 'completed' },
      { customer_id: 2, version: 2, state: 'completed' },
    ]);
  });

  it('refuses a definition with a backward branch, naming the field', async () => {
    await expect(
      createFlow(
        database,
        {
          name: 'Loop',
          definition: {
            trigger: { type: 'event', name: 'x' },
            steps: [
              { id: 'a', kind: 'wait', days: 1 },
              { kind: 'branch', rules: { kind: 'tag', tags: ['t'] }, ifMatch: 'a' },
            ],
          },
        },
        CLI_ACTOR,
      ),
    ).rejects.toThrow('definition.steps.1.ifMatch: "a" must be the id of a later step');
  });
});

describe('holdout: seeded and reproducible', () => {
  let database: Database;
  const clock = new SimulatedClock(START);

  beforeAll(async () => {
    database = await openTestDatabase();
    await loadCustomers(
      database,
      Array.from({ length: 400 }, (_, i) => ({ id: i + 1, name: `H${i + 1}`, consents: { email: true } })),
    );
  });
  afterAll(() => database.close());

  it('holds out the customers whose md5(seed·100003+flow : h : id) falls below the share; they get no job', async () => {
    const flow = await createFlow(
      database,
      {
        name: 'Held',
        definition: {
          trigger: { type: 'event', name: 'go' },
          holdoutShare: 0.25,
          seed: 7,
          steps: [{ kind: 'send', subject: 'Hi', bodyText: 'hi' }],
        },
      },
      CLI_ACTOR,
    );
    await setFlowEnabled(database, flow.id, true, clock);
    clock.advance({ seconds: 1 });
    await database.db
      .insertInto('flow_events')
      .values(
        Array.from({ length: 400 }, (_, i) => ({ customer_id: i + 1, name: 'go', occurred_at: clock.now() })),
      )
      .execute();
    clock.advance({ minutes: 1 });
    const mailer = recordingMailer();
    await tick(database, { clock, mailer });
    const { createHash } = await import('node:crypto');
    const seed = 7 * 100_003 + flow.id;
    const expected = Array.from({ length: 400 }, (_, i) => i + 1).filter(
      (id) =>
        Number.parseInt(createHash('md5').update(`${seed}:h:${id}`).digest('hex').slice(0, 8), 16) / 2 ** 32 <
        0.25,
    );
    const held = await database.db
      .selectFrom('flow_enrollments')
      .select('customer_id')
      .where('holdout', '=', true)
      .orderBy('customer_id')
      .execute();
    expect(held.map((h) => h.customer_id)).toEqual(expected);
    expect(expected.length).toBeGreaterThan(70);
    expect(expected.length).toBeLessThan(130);
    expect(mailer.sent).toHaveLength(400 - expected.length);
    const jobs = await sql<{ n: number }>`
      select count(*)::int as n from flow_jobs j join flow_enrollments e on e.customer_id = j.customer_id and e.id = j.enrollment_id
      where e.holdout`.execute(database.db);
    expect(jobs.rows[0]!.n).toBe(0);
  });
});

describe('concurrent workers (FOR UPDATE SKIP LOCKED)', () => {
  let database: Database;
  const clock = new SimulatedClock(START);

  beforeAll(async () => {
    database = await openTestDatabase();
    await loadCustomers(
      database,
      Array.from({ length: 60 }, (_, i) => ({ id: i + 1, name: `W${i + 1}`, consents: { email: true } })),
    );
    const flow = await createFlow(
      database,
      {
        name: 'Parallel',
        definition: {
          trigger: { type: 'event', name: 'go' },
          steps: [
            { kind: 'send', subject: 'One', bodyText: 'one' },
            { kind: 'tag', add: ['done'] },
          ],
        },
      },
      CLI_ACTOR,
    );
    await setFlowEnabled(database, flow.id, true, clock);
  });
  afterAll(() => database.close());

  it('three workers at once run every step exactly once', async () => {
    clock.advance({ seconds: 1 });
    await database.db
      .insertInto('flow_events')
      .values(
        Array.from({ length: 60 }, (_, i) => ({ customer_id: i + 1, name: 'go', occurred_at: clock.now() })),
      )
      .execute();
    clock.advance({ seconds: 1 });
    const mailer = recordingMailer();
    await tick(database, { clock, mailer, maxBatches: 0 }); // the scan only
    const results = await Promise.all(
      ['a', 'b', 'c'].map((w) => tick(database, { clock, mailer, workerId: w, batchSize: 7, scan: false })),
    );
    expect(results.reduce((s, r) => s + r.executed, 0)).toBe(120);
    const ids = mailer.sent.map((m) => m.customerId).sort((x, y) => x - y);
    expect(ids).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    const touches = await sql<{ n: number; customers: number }>`
      select count(*)::int as n, count(distinct customer_id)::int as customers from touches`.execute(
      database.db,
    );
    expect(touches.rows[0]).toEqual({ n: 60, customers: 60 });
    const jobs = await sql<{ state: string; n: number }>`
      select state, count(*)::int as n from flow_jobs group by state`.execute(database.db);
    expect(jobs.rows).toEqual([{ state: 'done', n: 120 }]);
  });
});
