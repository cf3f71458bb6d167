import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer, type KizunaServer } from '../src/api/server.ts';
import type { Database } from '../src/db/index.ts';
import { signInAs, tokenHeaders } from './helpers/api.ts';
import { openTestDatabase } from './helpers/database.ts';

let database: Database;
let app: KizunaServer;
let manager: { headers: Record<string, string>; staffId: number };
let marketer: Record<string, string>;
let agent: Record<string, string>;
let staffB: Record<string, string>;
let storeA: number;
let storeB: number;
let ticketId: number;

beforeAll(async () => {
  database = await openTestDatabase();
  const db = database.db;
  [storeA, storeB] = (
    await db
      .insertInto('stores')
      .values([
        { code: 'A', name: 'Store A' },
        { code: 'B', name: 'Store B' },
      ])
      .returning('id')
      .execute()
  ).map((r) => r.id) as [number, number];
  const customer = await db
    .insertInto('customers')
    .values({ name: '佐藤 花子', home_store_id: storeA })
    .returning('id')
    .executeTakeFirstOrThrow();
  // An urgent complaint opened Mon 2026-01-05 09:00 JST with no reply: its 60-minute first response was due
  // at 10:00 JST that day, long before any run of this test.
  ticketId = (
    await db
      .insertInto('interactions')
      .values({
        customer_id: customer.id,
        kind: 'complaint',
        channel: 'email',
        status: 'open',
        priority: 'urgent',
        subject: 'Squeaky shoe',
        store_id: storeA,
        opened_at: new Date('2026-01-05T09:00:00+09:00'),
      })
      .returning('id')
      .executeTakeFirstOrThrow()
  ).id;
  app = buildServer(database);
  await app.ready();
  manager = await signInAs(app, database, 'manager', { storeIds: [storeA] });
  marketer = await tokenHeaders(database, 'marketer');
  agent = await tokenHeaders(database, 'service_agent');
  staffB = await tokenHeaders(database, 'store_staff', { storeIds: [storeB] });
});

afterAll(async () => {
  await app?.close();
  await database?.close();
});

const BERLIN = {
  name: 'Berlin',
  timezone: 'Europe/Berlin',
  hours: { '1': [['09:00', '18:00']], '5': [['22:00', '06:00']] },
  holidays: ['2026-12-25'],
};

describe('calendars', () => {
  it('anyone signed in reads them; the seeded Default is Tokyo', async () => {
    const response = await app.inject({ method: 'GET', url: '/api/sla/calendars', headers: marketer });
    expect(response.statusCode).toBe(200);
    expect(response.json().calendars[0]).toMatchObject({ name: 'Default', timezone: 'Asia/Tokyo' });
    expect((await app.inject({ method: 'GET', url: '/api/sla/calendars' })).statusCode).toBe(401);
  });

  it('only service:manage changes them', async () => {
    for (const headers of [marketer, agent]) {
      const response = await app.inject({
        method: 'POST',
        url: '/api/sla/calendars',
        headers,
        payload: BERLIN,
      });
      expect(response.statusCode).toBe(403);
    }
    const created = await app.inject({
      method: 'POST',
      url: '/api/sla/calendars',
      headers: manager.headers,
      payload: BERLIN,
    });
    expect(created.statusCode).toBe(201);
    const { id } = created.json();
    expect(created.json()).toMatchObject({ name: 'Berlin', holidays: ['2026-12-25'] });
    const patched = await app.inject({
      method: 'PATCH',
      url: `/api/sla/calendars/${id}`,
      headers: manager.headers,
      payload: { holidays: ['2026-12-24', '2026-12-25'] },
    });
    expect(patched.statusCode).toBe(200);
    expect(patched.json().holidays).toEqual(['2026-12-24', '2026-12-25']);
    const refused = await app.inject({
      method: 'PATCH',
      url: `/api/sla/calendars/${id}`,
      headers: marketer,
      payload: { holidays: [] },
    });
    expect(refused.statusCode).toBe(403);
    const one = await app.inject({ method: 'GET', url: `/api/sla/calendars/${id}`, headers: agent });
    expect(one.json().hours).toEqual(BERLIN.hours);
  });

  it('names the field at fault', async () => {
    const post = (payload: Record<string, unknown>) =>
      app.inject({ method: 'POST', url: '/api/sla/calendars', headers: manager.headers, payload });
    const badTime = await post({ ...BERLIN, name: 'Bad', hours: { '1': [['25:00', '18:00']] } });
    expect(badTime.statusCode).toBe(400);
    expect(badTime.json().error).toEqual({
      code: 'invalid_calendar',
      message: "hours.1[0][0]: '25:00' is not a time 00:00–23:59",
      field: 'hours.1[0][0]',
    });
    const badZone = await post({ ...BERLIN, name: 'Bad', timezone: 'Europe/Atlantis' });
    expect(badZone.json().error).toMatchObject({ field: 'timezone' });
    const badHoliday = await post({ ...BERLIN, name: 'Bad', holidays: ['2026-13-01'] });
    expect(badHoliday.json().error).toMatchObject({ field: 'holidays[0]' });
    const badDay = await post({ ...BERLIN, name: 'Bad', hours: { '7': [['09:00', '18:00']] } });
    expect(badDay.statusCode).toBe(400);
    expect(badDay.json().error.message).toMatch(/^hours.*weekday must be 0 \(Sunday\) to 6/);
    const taken = await post({ ...BERLIN });
    expect(taken.statusCode).toBe(409);
    expect(taken.json().error).toMatchObject({ code: 'name_taken', field: 'name' });
    const missing = await app.inject({ method: 'GET', url: '/api/sla/calendars/9999', headers: agent });
    expect(missing.statusCode).toBe(404);
  });
});

describe('policies', () => {
  it('lists them in the order they are tried; a marketer may read but not change them', async () => {
    const list = await app.inject({ method: 'GET', url: '/api/sla/policies', headers: marketer });
    expect(list.statusCode).toBe(200);
    expect(list.json().policies.map((p: { name: string }) => p.name)).toEqual([
      'Loyal urgent',
      'Loyal high',
      'Loyal normal',
      'Loyal low',
      'Urgent',
      'High',
      'Normal',
      'Low',
    ]);
    const refused = await app.inject({
      method: 'POST',
      url: '/api/sla/policies',
      headers: marketer,
      payload: { name: 'Mine', calendarId: 1 },
    });
    expect(refused.statusCode).toBe(403);
    const patch = await app.inject({
      method: 'PATCH',
      url: '/api/sla/policies/1',
      headers: marketer,
      payload: { firstResponseMinutes: 1 },
    });
    expect(patch.statusCode).toBe(403);
  });

  it('a manager creates and changes one; validation names the field', async () => {
    const created = await app.inject({
      method: 'POST',
      url: '/api/sla/policies',
      headers: manager.headers,
      payload: {
        name: 'Store A complaints',
        calendarId: 1,
        kinds: ['complaint'],
        storeIds: [storeA],
        precedence: 1,
        firstResponseMinutes: 20,
        resolutionMinutes: 480,
      },
    });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({
      kinds: ['complaint'],
      storeIds: [storeA],
      priorities: null,
      nextResponseMinutes: null,
      nearBreachShare: 0.2,
      active: true,
    });
    const changed = await app.inject({
      method: 'PATCH',
      url: `/api/sla/policies/${created.json().id}`,
      headers: manager.headers,
      payload: { active: false },
    });
    expect(changed.json()).toMatchObject({ active: false, firstResponseMinutes: 20 });

    const post = (payload: Record<string, unknown>) =>
      app.inject({ method: 'POST', url: '/api/sla/policies', headers: manager.headers, payload });
    const zero = await post({ name: 'Zero', calendarId: 1, firstResponseMinutes: 0 });
    expect(zero.statusCode).toBe(400);
    expect(zero.json().error).toMatchObject({ code: 'invalid_request', field: 'firstResponseMinutes' });
    const tier = await post({ name: 'Gold', calendarId: 1, tiers: ['gold'] });
    expect(tier.json().error).toMatchObject({ field: 'tiers' });
    const calendar = await post({ name: 'Nowhere', calendarId: 999 });
    expect(calendar.json().error).toMatchObject({ field: 'calendarId' });
    const share = await post({ name: 'Share', calendarId: 1, nearBreachShare: 1.5 });
    expect(share.json().error).toMatchObject({ field: 'nearBreachShare' });
    const extra = await post({ name: 'Extra', calendarId: 1, colour: 'red' });
    expect(extra.statusCode).toBe(400);
  });
});

describe('escalations', () => {
  it('a run escalates the breached ticket once; the list shows it to the store; a manager acknowledges it', async () => {
    expect(
      (await app.inject({ method: 'POST', url: '/api/sla/escalations/run', headers: agent })).statusCode,
    ).toBe(403);
    const run = await app.inject({
      method: 'POST',
      url: '/api/sla/escalations/run',
      headers: manager.headers,
    });
    expect(run.statusCode).toBe(200);
    // Two clocks breached: first response (60) and resolution (540) of an urgent ticket.
    expect(run.json()).toEqual({ escalated: 2 });
    const again = await app.inject({
      method: 'POST',
      url: '/api/sla/escalations/run',
      headers: manager.headers,
    });
    expect(again.json()).toEqual({ escalated: 0 });

    const list = await app.inject({ method: 'GET', url: '/api/sla/escalations', headers: agent });
    expect(list.statusCode).toBe(200);
    const [escalation, resolution] = list.json().escalations;
    // First response due Mon 10:00 JST = 01:00Z; resolution due 09:00 + 540 = 18:00 JST = 09:00Z (oldest first).
    // The signed-in manager is the manager of store A, so they are notified.
    expect(resolution).toMatchObject({ clock: 'resolution', breachedAt: '2026-01-05T09:00:00.000Z' });
    expect(escalation).toMatchObject({
      interactionId: ticketId,
      clock: 'first_response',
      breachedAt: '2026-01-05T01:00:00.000Z',
      subject: 'Squeaky shoe',
      notifiedStaffId: manager.staffId,
      acknowledgedAt: null,
    });
    const mine = await app.inject({
      method: 'GET',
      url: '/api/sla/escalations?mine=true',
      headers: manager.headers,
    });
    expect(mine.json().escalations).toHaveLength(2);
    const otherStore = await app.inject({ method: 'GET', url: '/api/sla/escalations', headers: staffB });
    expect(otherStore.json().escalations).toEqual([]);
    expect(
      (await app.inject({ method: 'GET', url: '/api/sla/escalations', headers: marketer })).statusCode,
    ).toBe(403);

    const ack = (headers: Record<string, string>) =>
      app.inject({ method: 'POST', url: `/api/sla/escalations/${escalation.id}/acknowledge`, headers });
    expect((await ack(agent)).statusCode).toBe(403);
    const done = await ack(manager.headers);
    expect(done.statusCode).toBe(200);
    expect(done.json()).toMatchObject({ acknowledgedByStaffId: manager.staffId });
    expect(done.json().acknowledgedAt).not.toBeNull();
    const open = await app.inject({ method: 'GET', url: '/api/sla/escalations', headers: agent });
    expect(open.json().escalations.map((e: { clock: string }) => e.clock)).toEqual(['resolution']);
    const all = await app.inject({ method: 'GET', url: '/api/sla/escalations?all=true', headers: agent });
    expect(all.json().escalations).toHaveLength(2);
    const missing = await app.inject({
      method: 'POST',
      url: '/api/sla/escalations/9999/acknowledge',
      headers: manager.headers,
    });
    expect(missing.statusCode).toBe(404);
  });
});
