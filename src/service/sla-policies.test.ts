import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase } from '../../test/helpers/database.ts';
import type { Database } from '../db/index.ts';
import {
  createCalendar,
  createPolicy,
  listCalendars,
  listPolicies,
  loadSlaSetup,
  slaStateOf,
  updateCalendar,
  updatePolicy,
} from './sla-policies.ts';

let database: Database;
beforeAll(async () => {
  database = await openTestDatabase();
  await database.db.insertInto('stores').values({ id: 7, code: 'S7', name: 'Store 7' }).execute();
});
afterAll(() => database?.close());

const jst = (day: number, time: string): Date =>
  new Date(`2026-03-${String(day).padStart(2, '0')}T${time}:00+09:00`);

describe('seeded calendar and policies', () => {
  it('the Default calendar is Tokyo, Mon–Fri 09–18 and Sat 10–17', async () => {
    const [calendar] = await listCalendars(database);
    expect(calendar).toMatchObject({ name: 'Default', timezone: 'Asia/Tokyo', holidays: [] });
    expect(calendar?.hours).toEqual({
      1: [['09:00', '18:00']],
      2: [['09:00', '18:00']],
      3: [['09:00', '18:00']],
      4: [['09:00', '18:00']],
      5: [['09:00', '18:00']],
      6: [['10:00', '17:00']],
    });
  });

  it('loyal customers get half the targets', async () => {
    const policies = await listPolicies(database);
    const byName = new Map(policies.map((p) => [p.name, p]));
    expect(policies.slice(0, 4).map((p) => p.name)).toEqual([
      'Loyal urgent',
      'Loyal high',
      'Loyal normal',
      'Loyal low',
    ]);
    for (const [loyal, standard] of [
      ['Loyal urgent', 'Urgent'],
      ['Loyal high', 'High'],
      ['Loyal normal', 'Normal'],
      ['Loyal low', 'Low'],
    ] as const) {
      const l = byName.get(loyal);
      const s = byName.get(standard);
      expect(l?.tiers).toEqual(['loyal']);
      expect(l?.firstResponseMinutes).toBe((s?.firstResponseMinutes ?? 0) / 2);
      expect(l?.nextResponseMinutes).toBe((s?.nextResponseMinutes ?? 0) / 2);
      expect(l?.resolutionMinutes).toBe((s?.resolutionMinutes ?? 0) / 2);
      expect(s).toMatchObject({ tiers: null, nearBreachShare: 0.2, active: true });
    }
    expect(byName.get('Normal')).toMatchObject({ priorities: ['normal'], firstResponseMinutes: 540 });
  });

  it('slaStateOf picks the loyal policy for a loyal customer and counts in Tokyo hours', async () => {
    // Urgent, opened Tue 2026-03-03 17:50 JST; at Wed 09:10: 10 + 10 = 20 business minutes.
    // Loyal urgent: 30-minute first response → 10 left (> 20 % of 30 = 6) → running; standard: 60 → 40 left.
    const ticket = {
      kind: 'complaint' as const,
      priority: 'urgent' as const,
      tier: 'loyal',
      storeId: null,
      openedAt: jst(3, '17:50'),
      events: [],
    };
    const loyal = await slaStateOf(database, ticket, jst(4, '09:10'));
    expect(loyal.policy?.name).toBe('Loyal urgent');
    expect(loyal.firstResponse).toMatchObject({ elapsedMinutes: 20, remainingMinutes: 10, state: 'running' });
    // Due: 10 min Tue + 20 min Wed → Wed 09:20.
    expect(loyal.firstResponse?.dueAt).toEqual(jst(4, '09:20'));
    const setup = await loadSlaSetup(database);
    const regular = await slaStateOf(database, { ...ticket, tier: 'regular' }, jst(4, '09:10'), setup);
    expect(regular.policy?.name).toBe('Urgent');
    expect(regular.firstResponse).toMatchObject({ remainingMinutes: 40, dueAt: jst(4, '09:50') });
  });
});

describe('storage', () => {
  it('creates and updates a calendar with holidays and overnight hours', async () => {
    const calendar = await createCalendar(database, {
      name: 'Berlin night desk',
      timezone: 'Europe/Berlin',
      hours: { 5: [['22:00', '06:00']] },
      holidays: ['2026-12-25', '2026-12-24', '2026-12-25'],
    });
    expect(calendar).toMatchObject({ name: 'Berlin night desk', holidays: ['2026-12-24', '2026-12-25'] });
    const updated = await updateCalendar(database, calendar.id, { holidays: ['2027-01-01'] });
    expect(updated).toMatchObject({ timezone: 'Europe/Berlin', holidays: ['2027-01-01'] });
    expect(updated.hours).toEqual({ 5: [['22:00', '06:00']] });
  });

  it('refuses a bad time with the field, and a name in use', async () => {
    await expect(
      createCalendar(database, { name: 'Bad', timezone: 'Asia/Tokyo', hours: { 1: [['09:00', '25:00']] } }),
    ).rejects.toMatchObject({ code: 'invalid_calendar', field: 'hours.1[0][1]' });
    await expect(
      createCalendar(database, { name: 'Default', timezone: 'Asia/Tokyo', hours: {} }),
    ).rejects.toMatchObject({ code: 'name_taken', status: 409 });
  });

  it('creates a store policy that wins by precedence, and updates it', async () => {
    const [calendar] = await listCalendars(database);
    const policy = await createPolicy(database, {
      name: 'Store 7 complaints',
      calendarId: calendar?.id ?? 0,
      kinds: ['complaint'],
      storeIds: [7],
      precedence: 5,
      firstResponseMinutes: 15,
      nearBreachMinutes: 5,
    });
    expect(policy).toMatchObject({
      kinds: ['complaint'],
      storeIds: [7],
      priorities: null,
      precedence: 5,
      firstResponseMinutes: 15,
      nextResponseMinutes: null,
      nearBreachShare: 0.2,
      nearBreachMinutes: 5,
    });
    const ticket = {
      kind: 'complaint' as const,
      priority: 'low' as const,
      tier: null,
      storeId: 7,
      openedAt: jst(3, '10:00'),
      events: [],
    };
    expect((await slaStateOf(database, ticket, jst(3, '10:05'))).policy?.name).toBe('Store 7 complaints');
    const off = await updatePolicy(database, policy.id, { active: false, resolutionMinutes: 100 });
    expect(off).toMatchObject({ active: false, resolutionMinutes: 100, firstResponseMinutes: 15 });
    expect((await slaStateOf(database, ticket, jst(3, '10:05'))).policy?.name).toBe('Low');
    await expect(updatePolicy(database, policy.id, { storeIds: [99] })).rejects.toMatchObject({
      field: 'storeIds',
    });
    await expect(updatePolicy(database, policy.id, { calendarId: 999 })).rejects.toMatchObject({
      field: 'calendarId',
    });
  });
});
