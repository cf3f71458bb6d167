import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Actor, CLI_ACTOR } from '../src/auth/index.ts';
import type { Database } from '../src/db/index.ts';
import { responseTimeRetention, serviceMeasures } from '../src/service/measures.ts';
import { openTicket, replyToTicket, setTicketStatus } from '../src/service/tickets.ts';
import { openTestDatabase } from './helpers/database.ts';

/**
 * Small shops whose figures are worked out by hand in the comments. Wilson 95 % limits computed
 * independently (z = 1.959964): 1/3 → [0.061492, 0.792340]; 1/2 → [0.094531, 0.905469];
 * 0/1 → [0, 0.793451]; 1/1 → [0.206549, 1]; 0/2 → [0, 0.657620].
 */

const at = (iso: string) => new Date(iso);

async function customer(database: Database, name: string, created = '2024-01-01T00:00:00Z') {
  return (
    await database.db
      .insertInto('customers')
      .values({ name, created_at: created })
      .returning('id')
      .executeTakeFirstOrThrow()
  ).id;
}

let orderNumber = 0;
async function order(database: Database, customerId: number, when: string) {
  orderNumber += 1;
  await database.db
    .insertInto('orders')
    .values({ customer_id: customerId, external_id: `O-${orderNumber}`, ordered_at: when, total: 1000 })
    .execute();
}

describe('agent measures and return after contact', () => {
  let database: Database;
  let agentA: number;
  let agentB: number;
  const actor = (staffId: number): Actor => ({
    ...CLI_ACTOR,
    kind: 'staff',
    staffId,
    name: `staff ${staffId}`,
  });

  beforeAll(async () => {
    database = await openTestDatabase();
    [agentA, agentB] = (
      await database.db
        .insertInto('staff')
        .values([
          { code: 'A', name: 'Agent A', role: 'service_agent' },
          { code: 'B', name: 'Agent B', role: 'service_agent' },
        ])
        .returning('id')
        .execute()
    ).map((r) => r.id) as [number, number];
    const [c1, c2, c3, c4] = [
      await customer(database, 'c1'),
      await customer(database, 'c2'),
      await customer(database, 'c3'),
      await customer(database, 'c4'),
    ] as [number, number, number, number];
    // Tickets, all in Tokyo business hours (Mon–Fri 09:00–18:00 JST = 00:00–09:00 UTC), priority normal
    // (seeded policy "Normal": first response 540, resolution 2700 business minutes).
    const ticket = async (
      customerId: number,
      staffId: number,
      opened: string,
      replied: string,
      resolved: string | null,
    ) => {
      const t = await openTicket(database, actor(staffId), customerId, {
        kind: 'inquiry',
        channel: 'email',
        subject: 's',
        body: 'b',
        assigneeStaffId: staffId,
        openedAt: at(opened),
      });
      await replyToTicket(database, actor(staffId), customerId, t.id, { body: 'r' }, at(replied));
      if (resolved)
        await setTicketStatus(database, actor(staffId), customerId, t.id, 'resolved', at(resolved));
      return t.id;
    };
    // T1 (A): first response 30 min, resolved after 120 min (business 120).
    const t1 = await ticket(
      c1,
      agentA,
      '2025-01-06T00:30:00Z',
      '2025-01-06T01:00:00Z',
      '2025-01-06T02:30:00Z',
    );
    // T2 (A): 120 min, resolved after 1440 wall minutes = 540 business (Tue 09:00–18:00 JST).
    const t2 = await ticket(
      c2,
      agentA,
      '2025-01-07T00:00:00Z',
      '2025-01-07T02:00:00Z',
      '2025-01-08T00:00:00Z',
    );
    // T3 (A): 360 min, never resolved (its resolution clock is breached by asOf).
    await ticket(c3, agentA, '2025-01-08T00:00:00Z', '2025-01-08T06:00:00Z', null);
    // T4 (B): 60 min, resolved after 600 wall minutes = 540 business.
    const t4 = await ticket(
      c4,
      agentB,
      '2025-01-09T00:00:00Z',
      '2025-01-09T01:00:00Z',
      '2025-01-09T10:00:00Z',
    );
    // Outside the period: not counted.
    await ticket(c1, agentA, '2024-12-31T00:00:00Z', '2024-12-31T00:10:00Z', null);
    await database.db
      .insertInto('csat_responses')
      .values([
        { customer_id: c1, interaction_id: t1, score: 5, agent_staff_id: agentA },
        { customer_id: c2, interaction_id: t2, score: 3, agent_staff_id: agentA },
        { customer_id: c4, interaction_id: t4, score: 1, agent_staff_id: agentB },
      ])
      .execute();

    // Orders. Every contacted customer last bought on 2024-12-20: recency 0–30 days on their index day,
    // no tier snapshot → stratum none/0-30.
    for (const c of [c1, c2, c3, c4]) await order(database, c, '2024-12-20T03:00:00Z');
    // Resolutions on Mon 01-06, Wed 01-08 and Thu 01-09: the index day is the next Monday, 2025-01-13.
    await order(database, c1, '2025-02-10T03:00:00Z'); // 28 days after the index: 90 yes
    await order(database, c2, '2025-05-01T03:00:00Z'); // 108 days: 180 yes, 90 no
    // The comparison pool: no interaction at all.
    const p1 = await customer(database, 'p1');
    const p2 = await customer(database, 'p2');
    const p3 = await customer(database, 'p3');
    const p4 = await customer(database, 'p4', '2025-01-15T00:00:00Z'); // created after every index day
    await order(database, p1, '2024-12-25T03:00:00Z');
    await order(database, p1, '2025-03-01T03:00:00Z'); // returns within 90 days of every index day
    await order(database, p2, '2024-12-25T03:00:00Z'); // never returns
    await order(database, p3, '2024-06-01T03:00:00Z'); // recency 181–365: another cell
    await order(database, p3, '2025-01-20T03:00:00Z');
    await order(database, p4, '2025-01-20T03:00:00Z');
  });
  afterAll(async () => database?.close());

  it('per agent: tickets, CSAT, wall-clock and business-hours times, SLA attainment, return after contact', async () => {
    const m = await serviceMeasures(database, {
      from: at('2025-01-01T00:00:00Z'),
      to: at('2025-02-01T00:00:00Z'),
      asOf: at('2026-01-01T00:00:00Z'),
    });
    const a = m.groups.find((g) => g.id === agentA)!;
    const b = m.groups.find((g) => g.id === agentB)!;
    expect(m.groups.map((g) => g.id)).toEqual([agentA, agentB]);
    expect(a).toMatchObject({ name: 'Agent A', tickets: 3, resolved: 2 });
    expect(a.csat).toEqual({ responses: 2, mean: 4, distribution: [0, 0, 1, 0, 1] });
    // First response [30, 120, 360]: median 120; p90 at position 1.8 → 120 + 0.8 · 240 = 312.
    expect(a.firstResponseMinutes).toEqual({ n: 3, median: 120, p90: 312 });
    // Resolution [120, 1440]: median 780; p90 at 0.9 → 120 + 0.9 · 1320 = 1308.
    expect(a.resolutionMinutes.median).toBeCloseTo(780, 9);
    expect(a.resolutionMinutes.p90).toBeCloseTo(1308, 9);
    // Business hours: first responses are all inside opening hours (same numbers); resolutions [120, 540].
    expect(a.businessFirstResponseMinutes).toEqual({ n: 3, median: 120, p90: 312 });
    expect(a.businessResolutionMinutes.median).toBeCloseTo(330, 9);
    expect(a.businessResolutionMinutes.p90).toBeCloseTo(498, 9);
    expect(a.sla.firstResponse).toEqual({ met: 3, breached: 0, attainment: 1 });
    expect(a.sla.resolution.met).toBe(2);
    expect(a.sla.resolution.breached).toBe(1);
    expect(a.sla.resolution.attainment).toBeCloseTo(2 / 3, 12);
    expect(b).toMatchObject({ tickets: 1, resolved: 1 });
    expect(b.csat).toEqual({ responses: 1, mean: 1, distribution: [1, 0, 0, 0, 0] });
    expect(b.firstResponseMinutes).toEqual({ n: 1, median: 60, p90: 60 });
    expect(b.businessResolutionMinutes).toEqual({ n: 1, median: 540, p90: 540 });

    expect(m.total).toMatchObject({ tickets: 4, resolved: 3 });
    expect(m.total.csat).toEqual({ responses: 3, mean: 3, distribution: [1, 0, 1, 0, 1] });
    // [30, 60, 120, 360]: median 90; p90 at 2.7 → 120 + 0.7 · 240 = 288.
    expect(m.total.firstResponseMinutes.median).toBeCloseTo(90, 9);
    expect(m.total.firstResponseMinutes.p90).toBeCloseTo(288, 9);

    // Return after contact. Contacted: c1 and c2 (A), c4 (B), all with index day 2025-01-13; c3's ticket
    // is not resolved. The cell none/0-30 on that day holds p1 and p2 (c1–c4 had contact, p3 is in
    // another cell — its last order before the index is from June — and p4 did not exist yet):
    // comparison rate 1/2 in both windows.
    const [a90, a180] = a.returnAfterContact;
    expect(a90).toMatchObject({ days: 90, eligible: 2, matched: 2, unmatched: 0, returned: 1, rate: 0.5 });
    expect(a90!.comparisonRate).toBe(0.5);
    expect(a90!.difference).toBe(0);
    expect(a90!.interval!.lower).toBeCloseTo(0.094531, 5);
    expect(a90!.interval!.upper).toBeCloseTo(0.905469, 5);
    expect(a180).toMatchObject({ days: 180, returned: 2, rate: 1, comparisonRate: 0.5, difference: 0.5 });
    const [b90] = b.returnAfterContact;
    expect(b90).toMatchObject({ eligible: 1, returned: 0, rate: 0, comparisonRate: 0.5, difference: -0.5 });
    expect(b90!.interval!.upper).toBeCloseTo(0.793451, 5);
    const [t90, t180] = m.total.returnAfterContact;
    expect(t90).toMatchObject({ eligible: 3, matched: 3, returned: 1, comparisonRate: 0.5 });
    expect(t90!.rate).toBeCloseTo(1 / 3, 12);
    expect(t90!.interval!.lower).toBeCloseTo(0.061492, 5);
    expect(t90!.interval!.upper).toBeCloseTo(0.79234, 5);
    expect(t180!.rate).toBeCloseTo(2 / 3, 12);
    expect(t180!.difference).toBeCloseTo(1 / 6, 12);
  });

  it('counts a window only once it has ended', async () => {
    // asOf 2025-06-01: the 90-day windows (ending 2025-04-13) are over, the 180-day ones (July) are not.
    const m = await serviceMeasures(database, {
      from: at('2025-01-01T00:00:00Z'),
      to: at('2025-02-01T00:00:00Z'),
      asOf: at('2025-06-01T00:00:00Z'),
    });
    const [t90, t180] = m.total.returnAfterContact;
    expect(t90).toMatchObject({ eligible: 3, matched: 3, returned: 1 });
    expect(t180).toMatchObject({ eligible: 0, matched: 0, rate: null, comparisonRate: null });
  });

  it('refuses an empty period', async () => {
    await expect(
      serviceMeasures(database, { from: at('2025-02-01T00:00:00Z'), to: at('2025-01-01T00:00:00Z') }),
    ).rejects.toThrow(/after from/);
  });
});

describe('response time ↔ retention', () => {
  let database: Database;
  beforeAll(async () => {
    database = await openTestDatabase();
    const ticket = async (customerId: number, opened: string, responded: string | null) => {
      await database.db
        .insertInto('interactions')
        .values({
          customer_id: customerId,
          kind: 'inquiry',
          channel: 'email',
          status: responded ? 'waiting' : 'new',
          opened_at: opened,
          first_response_at: responded,
        })
        .execute();
    };
    const c = [] as number[];
    for (let k = 1; k <= 6; k++) c.push(await customer(database, `c${k}`));
    const [c1, c2, c3, c4, c5, c6] = c as [number, number, number, number, number, number];
    await ticket(c1, '2025-01-06T00:30:00Z', '2025-01-06T01:00:00Z'); // 30 min → <1h
    await ticket(c2, '2025-01-07T00:00:00Z', '2025-01-07T02:00:00Z'); // 120 → 1-4h
    await ticket(c3, '2025-01-08T00:00:00Z', '2025-01-08T06:00:00Z'); // 360 → 4-24h
    await ticket(c4, '2025-01-09T00:00:00Z', '2025-01-09T01:00:00Z'); // 60 → 1-4h (not < 60)
    await ticket(c5, '2025-01-10T00:00:00Z', null); // no response
    await ticket(c6, '2025-01-11T00:00:00Z', '2025-01-13T00:00:00Z'); // 2880 → >=24h
    await ticket(c1, '2025-01-20T00:00:00Z', '2025-01-25T00:00:00Z'); // c1's second ticket: not its first
    await ticket(c2, '2024-12-01T00:00:00Z', '2024-12-01T00:05:00Z'); // before the period
    await order(database, c1, '2025-02-10T00:00:00Z'); // 35 days after its index
    await order(database, c2, '2025-05-01T00:00:00Z'); // 114 days: 180 yes, 90 no
    await order(database, c3, '2025-01-01T00:00:00Z'); // before its index only
    await order(database, c5, '2025-12-01T00:00:00Z'); // 325 days: not 90/180, but within 365
    await order(database, c6, '2025-03-01T00:00:00Z'); // 47 days
  });
  afterAll(async () => database?.close());

  it('buckets customers by their first ticket’s first-response time; repeat and churn per bucket', async () => {
    const report = await responseTimeRetention(database, {
      from: at('2025-01-01T00:00:00Z'),
      to: at('2025-02-01T00:00:00Z'),
      asOf: at('2026-06-01T00:00:00Z'),
    });
    const row = (label: string) => {
      const b = report.buckets.find((x) => x.bucket === label)!;
      return {
        customers: b.customers,
        r90: [b.repeat[0]!.count, b.repeat[0]!.eligible],
        r180: [b.repeat[1]!.count, b.repeat[1]!.eligible],
        churn: [b.churn.count, b.churn.eligible],
      };
    };
    expect(report.buckets.map((b) => b.bucket)).toEqual(['<1h', '1-4h', '4-24h', '>=24h', 'no response']);
    expect(row('<1h')).toEqual({ customers: 1, r90: [1, 1], r180: [1, 1], churn: [0, 1] });
    expect(row('1-4h')).toEqual({ customers: 2, r90: [0, 2], r180: [1, 2], churn: [1, 2] });
    expect(row('4-24h')).toEqual({ customers: 1, r90: [0, 1], r180: [0, 1], churn: [1, 1] });
    expect(row('>=24h')).toEqual({ customers: 1, r90: [1, 1], r180: [1, 1], churn: [0, 1] });
    expect(row('no response')).toEqual({ customers: 1, r90: [0, 1], r180: [0, 1], churn: [0, 1] });
    const slow = report.buckets[1]!;
    expect(slow.repeat[1]!.rate).toBe(0.5);
    expect(slow.repeat[1]!.interval!.lower).toBeCloseTo(0.094531, 5);
    expect(slow.repeat[0]!.interval!.upper).toBeCloseTo(0.65762, 5);
    expect(report.buckets[0]!.repeat[0]!.interval!.lower).toBeCloseTo(0.206549, 5);
  });

  it('leaves out customers whose window has not ended', async () => {
    const report = await responseTimeRetention(database, {
      from: at('2025-01-01T00:00:00Z'),
      to: at('2025-02-01T00:00:00Z'),
      asOf: at('2025-05-01T00:00:00Z'),
    });
    const b = report.buckets.find((x) => x.bucket === '1-4h')!;
    expect(b.customers).toBe(2);
    expect(b.repeat[0]).toMatchObject({ eligible: 2, count: 0 });
    expect(b.repeat[1]).toMatchObject({ eligible: 0, count: 0, rate: null, interval: null });
    expect(b.churn).toMatchObject({ eligible: 0, rate: null });
  });
});
