import { sql } from 'kysely';
import { type Actor, customerInStores, requireCustomerInScope } from '../auth/index.ts';
import type { Database } from '../db/index.ts';
import { KizunaError } from '../errors.ts';
import type { SlaClockName, SlaTicket } from './sla.ts';
import { loadSlaSetup, slaStateWith } from './sla-policies.ts';
import { loadSlaTickets } from './tickets.ts';

/**
 * Escalation of breached SLA clocks (docs/service-desk.md, "SLA and business hours"). When a ticket's clock
 * passes its due time without the response (or resolution) it waits for, one escalation row is recorded
 * per clock and cycle, notifying the assignee's manager: an active manager of the ticket's store (someone
 * other than the assignee), else the first active owner. The notification is the entry in that person's
 * escalation list; it stays open until acknowledged.
 */

/** A ticket as escalation needs it: who owns it, where, and its SLA facts. */
export type EscalationTicket = {
  customerId: number;
  interactionId: number;
  assigneeStaffId: number | null;
  storeId: number | null;
  sla: SlaTicket;
};

export type EscalationClock = 'first_response' | 'next_response' | 'resolution';

export type Escalation = {
  id: number;
  customerId: number;
  interactionId: number;
  clock: EscalationClock;
  clockStartedAt: Date;
  breachedAt: Date;
  policyId: number | null;
  storeId: number | null;
  assigneeStaffId: number | null;
  notifiedStaffId: number | null;
  notifiedStaffName: string | null;
  notifiedAt: Date;
  acknowledgedAt: Date | null;
  acknowledgedByStaffId: number | null;
  subject: string | null;
  kind: string;
  priority: string;
};

const CLOCKS: Array<[SlaClockName, EscalationClock]> = [
  ['firstResponse', 'first_response'],
  ['nextResponse', 'next_response'],
  ['resolution', 'resolution'],
];

/** Who hears of a breach: a manager of the store other than the assignee, else the first owner. */
async function managerOf(database: Database, storeId: number | null, assigneeStaffId: number | null) {
  const db = database.db;
  if (storeId !== null) {
    const manager = await db
      .selectFrom('staff as s')
      .select('s.id')
      .where('s.role', '=', 'manager')
      .where('s.disabled_at', 'is', null)
      .where('s.id', '!=', assigneeStaffId ?? -1)
      .where((eb) =>
        eb.or([
          eb('s.store_id', '=', storeId),
          eb.exists(
            eb
              .selectFrom('staff_stores as ss')
              .select('ss.staff_id')
              .whereRef('ss.staff_id', '=', 's.id')
              .where('ss.store_id', '=', storeId),
          ),
        ]),
      )
      // Their own store before a store they may also see.
      .orderBy(sql`case when s.store_id = ${storeId} then 0 else 1 end`)
      .orderBy('s.id')
      .executeTakeFirst();
    if (manager) return manager.id;
  }
  const owner = await db
    .selectFrom('staff')
    .select('id')
    .where('role', '=', 'owner')
    .where('disabled_at', 'is', null)
    .orderBy('id')
    .executeTakeFirst();
  return owner?.id ?? null;
}

/**
 * Records an escalation for every clock of the given tickets that is breached at `now` and still waiting
 * for its response or resolution, unless that clock (cycle) was escalated before. Returns the new ones.
 */
export async function escalateBreaches(
  database: Database,
  now: Date,
  tickets: readonly EscalationTicket[],
): Promise<Escalation[]> {
  const setup = await loadSlaSetup(database);
  const created: Array<{ customerId: number; id: number }> = [];
  for (const ticket of tickets) {
    const state = slaStateWith(setup, ticket.sla, now);
    for (const [name, clockName] of CLOCKS) {
      const clock = state[name];
      if (clock?.state !== 'breached' || clock.metAt !== null || clock.dueAt === null) continue;
      const notified = await managerOf(database, ticket.storeId, ticket.assigneeStaffId);
      const row = await database.db
        .insertInto('sla_escalations')
        .values({
          customer_id: ticket.customerId,
          interaction_id: ticket.interactionId,
          policy_id: state.policy?.id ?? null,
          clock: clockName,
          clock_started_at: clock.startedAt,
          breached_at: clock.dueAt,
          store_id: ticket.storeId,
          assignee_staff_id: ticket.assigneeStaffId,
          notified_staff_id: notified,
          notified_at: now,
        })
        .onConflict((oc) =>
          oc.columns(['customer_id', 'interaction_id', 'clock', 'clock_started_at']).doNothing(),
        )
        .returning(['customer_id', 'id'])
        .executeTakeFirst();
      if (row) created.push({ customerId: row.customer_id, id: row.id });
    }
  }
  if (created.length === 0) return [];
  const ids = created.map((row) => row.id);
  return (await escalationQuery(database).where('e.id', 'in', ids).execute()).map(escalationOf);
}

function escalationQuery(database: Database) {
  return database.db
    .selectFrom('sla_escalations as e')
    .innerJoin('interactions as i', (join) =>
      join.onRef('i.customer_id', '=', 'e.customer_id').onRef('i.id', '=', 'e.interaction_id'),
    )
    .leftJoin('staff as n', 'n.id', 'e.notified_staff_id')
    .select([
      'e.id',
      'e.customer_id',
      'e.interaction_id',
      'e.clock',
      'e.clock_started_at',
      'e.breached_at',
      'e.policy_id',
      'e.store_id',
      'e.assignee_staff_id',
      'e.notified_staff_id',
      'n.name as notified_staff_name',
      'e.notified_at',
      'e.acknowledged_at',
      'e.acknowledged_by_staff_id',
      'i.subject',
      'i.kind',
      'i.priority',
    ])
    .orderBy('e.breached_at')
    .orderBy('e.id');
}

type EscalationRow = Awaited<ReturnType<ReturnType<typeof escalationQuery>['execute']>>[number];

function escalationOf(row: EscalationRow): Escalation {
  return {
    id: row.id,
    customerId: row.customer_id,
    interactionId: row.interaction_id,
    clock: row.clock,
    clockStartedAt: row.clock_started_at,
    breachedAt: row.breached_at,
    policyId: row.policy_id,
    storeId: row.store_id,
    assigneeStaffId: row.assignee_staff_id,
    notifiedStaffId: row.notified_staff_id,
    notifiedStaffName: row.notified_staff_name,
    notifiedAt: row.notified_at,
    acknowledgedAt: row.acknowledged_at,
    acknowledgedByStaffId: row.acknowledged_by_staff_id,
    subject: row.subject,
    kind: row.kind,
    priority: row.priority,
  };
}

export type EscalationFilter = {
  /** Default true: only escalations nobody has acknowledged. */
  open?: boolean;
  /** Only those notifying this staff member ('mine'). */
  notifiedStaffId?: number;
  limit?: number;
};

/**
 * Escalates every open ticket whose clock has breached by `now` (the route, the CLI and the worker of
 * `kizuna serve --flows`, which calls it every poll).
 */
export async function escalateDueBreaches(database: Database, now = new Date()): Promise<Escalation[]> {
  return escalateBreaches(database, now, await loadSlaTickets(database));
}

/** The escalation list: oldest breach first, customers of the actor's stores only. */
export async function listEscalations(
  database: Database,
  actor: Actor,
  filter: EscalationFilter = {},
): Promise<Escalation[]> {
  let query = escalationQuery(database).where(customerInStores(actor, sql.ref('e.customer_id')));
  if (filter.open ?? true) query = query.where('e.acknowledged_at', 'is', null);
  if (filter.notifiedStaffId !== undefined)
    query = query.where('e.notified_staff_id', '=', filter.notifiedStaffId);
  const rows = await query.limit(filter.limit ?? 500).execute();
  return rows.map(escalationOf);
}

/** Marks an escalation seen. Acknowledging twice keeps the first acknowledgement. */
export async function acknowledgeEscalation(
  database: Database,
  actor: Actor,
  id: number,
  now: Date = new Date(),
): Promise<Escalation> {
  const found = await database.db
    .selectFrom('sla_escalations')
    .select(['customer_id'])
    .where('id', '=', id)
    .executeTakeFirst();
  if (!found) throw new KizunaError('escalation_not_found', `No escalation with id ${id}`, { status: 404 });
  await requireCustomerInScope(database, actor, found.customer_id);
  await database.db
    .updateTable('sla_escalations')
    .set({ acknowledged_at: now, acknowledged_by_staff_id: actor.staffId })
    .where('customer_id', '=', found.customer_id)
    .where('id', '=', id)
    .where('acknowledged_at', 'is', null)
    .execute();
  const row = await escalationQuery(database)
    .where('e.customer_id', '=', found.customer_id)
    .where('e.id', '=', id)
    .executeTakeFirstOrThrow();
  return escalationOf(row);
}
