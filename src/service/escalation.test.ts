import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase } from '../../test/helpers/database.ts';
import { CLI_ACTOR } from '../auth/index.ts';
import type { Database } from '../db/index.ts';
import { acknowledgeEscalation, escalateBreaches, listEscalations } from './escalation.ts';
import { loadSlaTickets } from './tickets.ts';

/**
 * A desk worked out by hand with the seeded policies and the Default calendar (Tokyo, Mon–Fri 09–18):
 * Urgent = first response 60, resolution 540; Normal = next response 540, resolution 2700; Low = first 1080.
 * 2026-03-02 is a Monday. "Now" is Wed 2026-03-04 10:00 JST.
 */
const jst = (day: number, time: string): Date =>
  new Date(`2026-03-${String(day).padStart(2, '0')}T${time}:00+09:00`);
const NOW = jst(4, '10:00');

let database: Database;
const staff = { owner: 1, manager1: 2, retiredManager1: 3, agent: 4, manager2: 5 };
const tickets: Record<string, number> = {};

beforeAll(async () => {
  database = await openTestDatabase();
  const db = database.db;
  await db
    .insertInto('stores')
    .values([1, 2, 3].map((id) => ({ id, code: `S${id}`, name: `Store ${id}` })))
    .execute();
  await db
    .insertInto('staff')
    .values([
      { id: staff.owner, code: 'owner', name: 'Olivia Owner', role: 'owner', store_id: null },
      { id: staff.manager1, code: 'm1', name: 'Mika Manager', role: 'manager', store_id: 1 },
      {
        id: staff.retiredManager1,
        code: 'm1old',
        name: 'Retired',
        role: 'manager',
        store_id: 1,
        disabled_at: new Date('2026-01-01T00:00:00Z'),
      },
      { id: staff.agent, code: 'agent', name: 'Aki Agent', role: 'service_agent', store_id: 1 },
      // Manages store 2 without it being their own store.
      { id: staff.manager2, code: 'm2', name: 'Noa Manager', role: 'manager', store_id: 3 },
    ])
    .execute();
  await db.insertInto('staff_stores').values({ staff_id: staff.manager2, store_id: 2 }).execute();
  await db
    .insertInto('customers')
    .values([1, 2, 3, 4, 5].map((id) => ({ id, name: `Customer ${id}`, home_store_id: id === 2 ? 2 : 1 })))
    .execute();
  const open = async (
    name: string,
    values: {
      customer_id: number;
      priority: 'urgent' | 'normal' | 'low';
      store_id: number | null;
      owner_staff_id: number | null;
      opened_at: Date;
      status?: 'open' | 'waiting' | 'resolved';
      first_response_at?: Date;
    },
  ) => {
    const row = await db
      .insertInto('interactions')
      .values({ kind: 'complaint', channel: 'email', subject: name, status: 'open', ...values })
      .returning('id')
      .executeTakeFirstOrThrow();
    tickets[name] = row.id;
    return row.id;
  };
  // A: urgent, opened Tue 17:30, no reply: first response due Wed 09:30 → breached at 10:00.
  await open('A', {
    customer_id: 1,
    priority: 'urgent',
    store_id: 1,
    owner_staff_id: staff.agent,
    opened_at: jst(3, '17:30'),
  });
  // B: normal, opened Mon 09:00, replied 09:10, customer wrote again 10:00, no reply since: next response
  // due Mon 10:00 + 540 = (480 on Monday) + 60 → Tue 10:00 → breached. Resolution: 540 + 540 + 60 = 1140 < 2700.
  const b = await open('B', {
    customer_id: 2,
    priority: 'normal',
    store_id: 2,
    owner_staff_id: null,
    opened_at: jst(2, '09:00'),
  });
  await db
    .insertInto('ticket_messages')
    .values([
      { customer_id: 2, interaction_id: b, kind: 'customer_message', created_at: jst(2, '09:00') },
      { customer_id: 2, interaction_id: b, kind: 'public_reply', created_at: jst(2, '09:10') },
      { customer_id: 2, interaction_id: b, kind: 'customer_message', created_at: jst(2, '10:00') },
      { customer_id: 2, interaction_id: b, kind: 'internal_note', created_at: jst(2, '11:00') },
    ])
    .execute();
  // C: urgent, waiting for the customer since 10:30 after opening at 10:00 Tue: 30 minutes, paused.
  const c = await open('C', {
    customer_id: 3,
    priority: 'urgent',
    store_id: null,
    owner_staff_id: null,
    opened_at: jst(3, '10:00'),
    status: 'waiting',
  });
  await db
    .insertInto('ticket_status_changes')
    .values({
      customer_id: 3,
      interaction_id: c,
      from_status: 'open',
      to_status: 'waiting',
      changed_at: jst(3, '10:30'),
    })
    .execute();
  // D: resolved long ago, never loaded.
  await open('D', {
    customer_id: 4,
    priority: 'urgent',
    store_id: 1,
    owner_staff_id: null,
    opened_at: jst(2, '09:00'),
    status: 'resolved',
  });
  // E: urgent, opened Tue 17:45 and assigned to the store-1 manager: 15 + 45 → due Wed 09:45; the other store-1
  // manager is disabled, so the owner hears of it.
  await open('E', {
    customer_id: 5,
    priority: 'urgent',
    store_id: 1,
    owner_staff_id: staff.manager1,
    opened_at: jst(3, '17:45'),
  });
  // F: an interaction from before tickets had messages, answered (first_response_at) within 30 minutes;
  // resolution: Tue 11:00–18:00 + Wed 09:00–10:00 = 480 < 540.
  await open('F', {
    customer_id: 1,
    priority: 'urgent',
    store_id: 1,
    owner_staff_id: null,
    opened_at: jst(3, '11:00'),
    first_response_at: jst(3, '11:30'),
  });
});
afterAll(() => database?.close());

describe('escalation', () => {
  it('loads the unfinished tickets with their events', async () => {
    const loaded = await loadSlaTickets(database);
    expect(loaded.map((t) => t.interactionId).sort()).toEqual(
      [tickets.A, tickets.B, tickets.C, tickets.E, tickets.F].sort(),
    );
    const b = loaded.find((t) => t.interactionId === tickets.B);
    expect(b?.sla.events.map((e) => e.type)).toEqual([
      'customer_message',
      'public_reply',
      'customer_message',
      'internal_note',
    ]);
    const f = loaded.find((t) => t.interactionId === tickets.F);
    expect(f?.sla.events).toEqual([{ at: jst(3, '11:30'), type: 'public_reply' }]);
  });

  it('escalates each breached clock once, to the right person', async () => {
    const escalations = await escalateBreaches(database, NOW, await loadSlaTickets(database));
    // Oldest breach first: B (Tue 10:00), A (Wed 09:30), E (Wed 09:45).
    expect(
      escalations.map((e) => [e.interactionId, e.clock, e.breachedAt.toISOString(), e.notifiedStaffId]),
    ).toEqual([
      [tickets.B, 'next_response', jst(3, '10:00').toISOString(), staff.manager2],
      [tickets.A, 'first_response', jst(4, '09:30').toISOString(), staff.manager1],
      [tickets.E, 'first_response', jst(4, '09:45').toISOString(), staff.owner],
    ]);
    expect(escalations[0]).toMatchObject({
      clockStartedAt: jst(2, '10:00'),
      notifiedAt: NOW,
      acknowledgedAt: null,
    });
    expect(escalations[1]).toMatchObject({ notifiedStaffName: 'Mika Manager', assigneeStaffId: staff.agent });
    // At 11:00 only F's resolution is new (Tue 11:00 + 540 = 420 on Tuesday + 120 → Wed 11:00); the clocks
    // escalated before are not escalated twice, and a second run at the same time adds nothing.
    const later = await escalateBreaches(database, jst(4, '11:00'), await loadSlaTickets(database));
    expect(later.map((e) => [e.interactionId, e.clock, e.breachedAt])).toEqual([
      [tickets.F, 'resolution', jst(4, '11:00')],
    ]);
    expect(await escalateBreaches(database, jst(4, '11:00'), await loadSlaTickets(database))).toEqual([]);
  });

  it('lists open escalations oldest first, in store scope, and acknowledges them', async () => {
    expect((await listEscalations(database, CLI_ACTOR)).map((e) => e.interactionId)).toEqual([
      tickets.B,
      tickets.A,
      tickets.E,
      tickets.F,
    ]);
    const store2 = {
      ...CLI_ACTOR,
      kind: 'staff' as const,
      staffId: staff.manager2,
      role: 'manager' as const,
      storeIds: [2],
    };
    expect((await listEscalations(database, store2)).map((e) => e.interactionId)).toEqual([tickets.B]);
    expect(
      (await listEscalations(database, CLI_ACTOR, { notifiedStaffId: staff.owner })).map(
        (e) => e.interactionId,
      ),
    ).toEqual([tickets.E]);

    const [b] = await listEscalations(database, store2);
    const acknowledged = await acknowledgeEscalation(database, store2, b?.id ?? 0, jst(4, '10:05'));
    expect(acknowledged).toMatchObject({
      acknowledgedAt: jst(4, '10:05'),
      acknowledgedByStaffId: staff.manager2,
    });
    const again = await acknowledgeEscalation(database, CLI_ACTOR, b?.id ?? 0, jst(4, '12:00'));
    expect(again.acknowledgedAt).toEqual(jst(4, '10:05'));
    expect((await listEscalations(database, CLI_ACTOR)).map((e) => e.interactionId)).toEqual([
      tickets.A,
      tickets.E,
      tickets.F,
    ]);
    expect(await listEscalations(database, CLI_ACTOR, { open: false })).toHaveLength(4);

    const [a] = (await listEscalations(database, CLI_ACTOR)).filter((e) => e.interactionId === tickets.A);
    await expect(acknowledgeEscalation(database, store2, a?.id ?? 0)).rejects.toMatchObject({ status: 403 });
    await expect(acknowledgeEscalation(database, CLI_ACTOR, 99_999)).rejects.toMatchObject({ status: 404 });
  });
});
