import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase } from '../../test/helpers/database.ts';
import { type Actor, CLI_ACTOR } from '../auth/index.ts';
import type { Database, InteractionKind, TicketPriority } from '../db/index.ts';
import { clockCandidates, escalateDueBreaches } from './escalation.ts';
import { breachingAmong, breachingTickets, type TicketFilter } from './tickets.ts';

/**
 * "Breaching soon" lists only the tickets chosen in SQL (clockCandidates 'breaching'): over a random desk
 * (business-hours calendar, pauses and reopenings, answered and escalated clocks, every priority, a tier,
 * policies with near-breach minutes and one whose margin covers its whole target) its answer equals the
 * exact check of every ticket in the queue (breachingAmong without ticket ids) at many moments.
 */
let database: Database;
const T0 = new Date('2026-03-02T00:00:00+09:00').getTime(); // Monday
const HOUR = 3_600_000;

/** mulberry32: the same desk every run. */
function random(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const storeOne: Actor = { ...CLI_ACTOR, kind: 'staff', staffId: 1, name: 'agent', storeIds: [1] };

beforeAll(async () => {
  database = await openTestDatabase();
  const db = database.db;
  const rnd = random(20261207);
  const pick = <T>(values: readonly T[]): T => values[Math.floor(rnd() * values.length)]!;
  await db
    .insertInto('stores')
    .values([1, 2].map((id) => ({ id, code: `S${id}`, name: `Store ${id}` })))
    .execute();
  await db
    .insertInto('staff')
    .values({ id: 1, code: 'agent', name: 'Agent', role: 'service_agent', store_id: 1 })
    .execute();
  const customers = 60;
  await db
    .insertInto('customers')
    .values(
      Array.from({ length: customers }, (_, i) => ({
        id: i + 1,
        name: `Customer ${i + 1}`,
        home_store_id: (i % 2) + 1,
      })),
    )
    .execute();
  await db
    .insertInto('customer_measures')
    .values(
      Array.from({ length: customers / 3 }, (_, i) => ({
        customer_id: i * 3 + 1,
        as_of: '2026-03-01',
        orders_count: 1,
        purchase_days: 1,
        total_spend: 1,
        gross_margin: 0,
        returns_amount: 0,
        tier: 'loyal' as const,
      })),
    )
    .execute();
  // Beside the seeded policies (Default calendar, Tokyo business hours): store 2's complaints warn 300
  // minutes ahead; requests on a round-the-clock calendar are near breach from the start (margin ≥ target).
  const calendar = await db
    .insertInto('business_calendars')
    .values({
      name: 'Always',
      timezone: 'UTC',
      hours: JSON.stringify(Object.fromEntries([0, 1, 2, 3, 4, 5, 6].map((d) => [d, [['00:00', '24:00']]]))),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const defaultCalendar = await db
    .selectFrom('business_calendars')
    .select('id')
    .where('name', '=', 'Default')
    .executeTakeFirstOrThrow();
  await db
    .insertInto('sla_policies')
    .values([
      {
        name: 'Store 2 complaints',
        calendar_id: defaultCalendar.id,
        kinds: ['complaint'],
        store_ids: [2],
        precedence: 5,
        first_response_minutes: 120,
        next_response_minutes: 180,
        resolution_minutes: 900,
        near_breach_minutes: 300,
      },
      {
        name: 'Requests',
        calendar_id: calendar.id,
        kinds: ['request'],
        precedence: 1,
        first_response_minutes: 600,
        next_response_minutes: null,
        resolution_minutes: 4000,
        near_breach_share: '0.5',
        near_breach_minutes: 700,
      },
    ])
    .execute();

  const kinds: InteractionKind[] = ['inquiry', 'complaint', 'request'];
  const priorities: TicketPriority[] = ['low', 'normal', 'high', 'urgent'];
  for (let n = 0; n < 160; n++) {
    const customerId = 1 + Math.floor(rnd() * customers);
    const openedAt = T0 + Math.floor(rnd() * 6 * 24 * HOUR);
    // A story of events after the opening (one in ten starts a little before it).
    const messages: Array<{ kind: 'customer_message' | 'public_reply' | 'internal_note'; at: number }> = [];
    const changes: Array<{ to: 'waiting' | 'open' | 'resolved' | 'closed'; at: number }> = [];
    let at = openedAt - (rnd() < 0.1 ? 10 * 60_000 : 0);
    let status = (rnd() < 0.2 ? 'new' : 'open') as 'new' | 'open' | 'waiting' | 'resolved' | 'closed';
    const steps = Math.floor(rnd() * 7);
    for (let s = 0; s < steps; s++) {
      at += Math.floor(rnd() * (rnd() < 0.5 ? 3 : 30) * HOUR);
      const what = rnd();
      if (what < 0.3) messages.push({ kind: 'customer_message', at });
      else if (what < 0.55) messages.push({ kind: 'public_reply', at });
      else if (what < 0.6) messages.push({ kind: 'internal_note', at });
      else {
        const to: 'waiting' | 'open' | 'resolved' =
          status === 'waiting' || status === 'resolved'
            ? pick(['open', 'resolved'] as const)
            : pick(['waiting', 'resolved', 'waiting'] as const);
        changes.push({ to, at });
        status = to;
      }
    }
    if (status === 'resolved' && rnd() < 0.7) {
      at += Math.floor(rnd() * 5 * HOUR);
      changes.push({ to: 'open', at });
      status = 'open';
    }
    const firstReply = messages.find((m) => m.kind === 'public_reply');
    // Some tickets predate messages: first_response_at only, no public reply message.
    const legacy = firstReply === undefined && rnd() < 0.2 ? openedAt + Math.floor(rnd() * 20 * HOUR) : null;
    const ticket = await db
      .insertInto('interactions')
      .values({
        kind: pick(kinds),
        channel: 'email',
        subject: `T${n}`,
        status,
        priority: pick(priorities),
        customer_id: customerId,
        store_id: rnd() < 0.1 ? null : pick([1, 2]),
        owner_staff_id: rnd() < 0.5 ? 1 : null,
        opened_at: new Date(openedAt),
        first_response_at: firstReply ? new Date(firstReply.at) : legacy === null ? null : new Date(legacy),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    if (messages.length > 0) {
      await db
        .insertInto('ticket_messages')
        .values(
          messages.map((m) => ({
            customer_id: customerId,
            interaction_id: ticket.id,
            kind: m.kind,
            created_at: new Date(m.at),
          })),
        )
        .execute();
    }
    let from: 'open' | 'waiting' | 'resolved' | 'closed' = 'open';
    for (const c of changes) {
      await db
        .insertInto('ticket_status_changes')
        .values({
          customer_id: customerId,
          interaction_id: ticket.id,
          from_status: from,
          to_status: c.to,
          changed_at: new Date(c.at),
        })
        .execute();
      from = c.to;
    }
  }
  // Escalated clocks are still breaching: escalate what is due midweek.
  await escalateDueBreaches(database, new Date(T0 + 3.5 * 24 * HOUR));
}, 120_000);

afterAll(async () => {
  await database?.close();
});

describe('breaching soon selects its tickets in SQL', () => {
  const moments = [-2, 9.5, 20, 33.25, 50, 61, 75.5, 84.1, 100, 110.75, 130, 150, 170, 200, 260, 400].map(
    (h) => new Date(T0 + h * HOUR),
  );
  const cases: Array<[string, Actor, Omit<TicketFilter, 'statuses' | 'ticketIds'>]> = [
    ['every store, all', CLI_ACTOR, {}],
    ['store 1, all', storeOne, {}],
    ['store 1, mine', storeOne, { queue: 'mine' }],
    ['every store, unassigned', CLI_ACTOR, { queue: 'unassigned' }],
  ];

  it('lists exactly what checking every ticket of the queue lists, at every moment', async () => {
    let listed = 0;
    let escalated = 0;
    let nearBreach = 0;
    const escalatedIds = new Set(
      (await database.db.selectFrom('sla_escalations').select('interaction_id').execute()).map(
        (e) => e.interaction_id,
      ),
    );
    expect(escalatedIds.size).toBeGreaterThan(0);
    for (const now of moments) {
      for (const [name, actor, filter] of cases) {
        const expected = await breachingAmong(database, actor, filter, now);
        const actual = await breachingTickets(database, actor, filter, now);
        expect(actual, `${name} at ${now.toISOString()}`).toEqual(expected);
        listed += actual.length;
        escalated += actual.filter((t) => escalatedIds.has(t.id)).length;
        nearBreach += actual.filter((t) => t.sla.worst === 'near_breach').length;
      }
    }
    // The desk is varied enough to mean something: breached, near breach and escalated tickets listed.
    expect(listed).toBeGreaterThan(100);
    expect(nearBreach).toBeGreaterThan(5);
    expect(escalated).toBeGreaterThan(5);
  });

  it('leaves out the tickets that cannot be near breach: young, paused early, answered in time', async () => {
    const now = new Date(T0 + 33.25 * HOUR);
    const candidates = await clockCandidates(database, now, 'breaching');
    const unfinished = await database.db
      .selectFrom('interactions')
      .select('id')
      .where('status', 'in', ['new', 'open', 'waiting'])
      .execute();
    expect(candidates.length).toBeLessThan(unfinished.length);
    const listed = await breachingTickets(database, CLI_ACTOR, {}, now);
    expect(candidates.length).toBeGreaterThanOrEqual(listed.length);
  });
});
