import { type RawBuilder, sql } from 'kysely';
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

/** A time as the SLA clocks see it: what the drivers read, to the millisecond (both truncate). */
const clockTime = (column: RawBuilder<unknown>) => sql`date_trunc('milliseconds', ${column})`;

/**
 * What a clock candidate is looked for: 'escalation' — a clock breached by `now` that still runs and was
 * not escalated before; 'breaching' — the "breaching soon" list: a clock breached (running, or stopped
 * late: answered or resolved after its target) or near breach at `now`, escalated or not.
 */
export type ClockCandidatePurpose = 'escalation' | 'breaching';

/**
 * The unfinished tickets that may have a clock breached (for 'breaching': or near breach) at `now`, found
 * in SQL; the callers load only these and decide exactly with slaStateWith (escalateDueBreaches,
 * breachingTickets). A superset, never smaller than the true set:
 *
 * - A clock counts business minutes outside pauses, and business minutes are real minutes inside the
 *   calendar's hours, so a clock that started at S cannot count M minutes before S + M in real minutes,
 *   whatever the calendar. A ticket paused without a break since P (a move to waiting, resolved or closed
 *   with no move back to new or open after it) counts nothing after P, so then P − S must reach M (a clock
 *   that stopped before P counted no more either). M, the minutes a clock must count to be of interest, is
 *   the target for escalation; for 'breaching' the target less the near-breach margin (the larger of
 *   near_breach_share × target and near_breach_minutes, less a minute against rounding), and a margin
 *   that covers the whole target keeps the clock whatever its age. M is the smallest of the active policies
 *   matching the ticket (the one that applies is among them). Every clock starts at or after the opening,
 *   so the smallest M of all active policies bounds opened_at alone.
 * - First response: for escalation, not when a public reply (or first_response_at standing for one, when
 *   the ticket has no public reply message at all) came by `now`; for 'breaching', not when one came by
 *   `now` and before the opening + the smallest target (met in time). Resolution: any unfinished ticket.
 *   Next response: a customer message after a reply, that is not a later message of a cycle begun before
 *   it, with no public reply after it by `now` (for 'breaching': none before its start + the smallest
 *   target).
 * - For escalation only, not when that clock (cycle) was escalated already: an escalation is recorded once
 *   per clock and clock start, and the start of first response and resolution is the opening. The
 *   breaching list shows escalated clocks like any other.
 * Times are compared as the clocks see them (events before the opening count at the opening; ties of
 * order count as "maybe", which keeps the ticket). `scope` narrows the tickets (a condition on `i`).
 */
export async function clockCandidates(
  database: Database,
  now: Date,
  purpose: ClockCandidatePurpose,
  scope: RawBuilder<unknown> = sql`true`,
): Promise<Array<{ customerId: number; ticketId: number }>> {
  const breaching = purpose === 'breaching';
  const at = sql`${now.toISOString()}::timestamptz`;
  const opened = sql`o.opened`;
  const eventTime = (column: string) => sql`greatest(${clockTime(sql.ref(column))}, ${opened})`;
  const ofTicket = (alias: string) =>
    sql`${sql.ref(`${alias}.customer_id`)} = i.customer_id and ${sql.ref(`${alias}.interaction_id`)} = i.id`;
  const publicReplies = (condition: RawBuilder<unknown>) =>
    sql`exists (select 1 from ticket_messages r where ${ofTicket('r')} and r.kind = 'public_reply' and ${condition})`;
  /** A reply event satisfying `condition` on its time: a public reply, or first_response_at in their stead. */
  const replyEvent = (condition: (time: RawBuilder<unknown>) => RawBuilder<unknown>) => sql`(
    ${publicReplies(condition(eventTime('r.created_at')))}
    or (i.first_response_at is not null and not ${publicReplies(sql`true`)}
        and ${condition(eventTime('i.first_response_at'))}))`;
  const notEscalated = (clock: EscalationClock, startedAt: RawBuilder<unknown>) =>
    breaching
      ? sql`true`
      : sql`not exists (
    select 1 from sla_escalations e
    where ${ofTicket('e')} and e.clock = ${clock} and e.clock_started_at = ${startedAt})`;
  /** The minutes a clock must count to be of interest under policy `p` (see above). */
  const minutesOf = (target: string) =>
    breaching
      ? sql`${sql.ref(target)} - greatest(${sql.ref(target)} * p.near_breach_share, coalesce(p.near_breach_minutes, 0)) - 1`
      : sql.ref(target);
  /** The clock started at `start` may have counted `t.<clock>_due` minutes by now (or when paused). */
  const dueBy = (start: RawBuilder<unknown>, clock: string) =>
    sql`(${sql.ref(`t.${clock}_due`)} <= 0 or ${start} <= a.active_until - ${sql.ref(`t.${clock}_due`)} * interval '1 minute')`;
  /** Before `start` + the clock's smallest target: a stop there met the target. */
  const beforeTarget = (time: RawBuilder<unknown>, start: RawBuilder<unknown>, clock: string) =>
    sql`${time} < ${start} + ${sql.ref(`t.${clock}`)} * interval '1 minute'`;
  const changeTime = (alias: string) =>
    sql`greatest(${clockTime(sql.ref(`${alias}.changed_at`))}, ${opened})`;
  const messageTime = sql`greatest(${clockTime(sql.ref('c.created_at'))}, ${opened})`;
  const earlierTime = sql`greatest(${clockTime(sql.ref('c2.created_at'))}, ${opened})`;
  const lowest = sql`(
    select min(least(${minutesOf('p.first_response_minutes')}, ${minutesOf('p.next_response_minutes')}, ${minutesOf('p.resolution_minutes')}))
    from sla_policies p where p.active)`;

  const query = sql<{ customer_id: number; id: number }>`
select i.customer_id, i.id
from interactions i
left join customer_measures cm on cm.customer_id = i.customer_id
cross join lateral (select ${clockTime(sql.ref('i.opened_at'))} as opened) o
-- Paused without a break since a move to waiting, resolved or closed: no clock runs after it.
cross join lateral (
  select coalesce(min(${changeTime('s')}), ${at}) as active_until
  from ticket_status_changes s
  where ${ofTicket('s')} and s.to_status in ('waiting', 'resolved', 'closed')
    and ${clockTime(sql.ref('s.changed_at'))} <= ${at}
    and not exists (
      select 1 from ticket_status_changes s2
      where ${ofTicket('s2')} and s2.to_status in ('new', 'open')
        and ${changeTime('s2')} >= ${changeTime('s')} and ${clockTime(sql.ref('s2.changed_at'))} <= ${at})
) a
cross join lateral (
  select min(p.first_response_minutes) as first_response,
         min(${minutesOf('p.first_response_minutes')}) as first_response_due,
         min(p.next_response_minutes) as next_response,
         min(${minutesOf('p.next_response_minutes')}) as next_response_due,
         min(p.resolution_minutes) as resolution,
         min(${minutesOf('p.resolution_minutes')}) as resolution_due
  from sla_policies p
  where p.active
    and (p.kinds is null or i.kind = any (p.kinds))
    and (p.priorities is null or i.priority = any (p.priorities))
    and (p.tiers is null or cm.tier = any (p.tiers))
    and (p.store_ids is null or i.store_id = any (p.store_ids))
) t
where i.status in ('new', 'open', 'waiting')
  and ${scope}
  and ${
    breaching
      ? sql`(${lowest} <= 0 or i.opened_at < ${at} + interval '1 millisecond' - ${lowest} * interval '1 minute')`
      : sql`i.opened_at < ${at} + interval '1 millisecond' - ${lowest} * interval '1 minute'`
  }
  and (
    (t.first_response is not null
      and ${dueBy(opened, 'first_response')}
      and not ${replyEvent((time) =>
        breaching
          ? sql`${time} <= ${at} and ${beforeTarget(time, opened, 'first_response')}`
          : sql`${time} <= ${at}`,
      )}
      and ${notEscalated('first_response', opened)})
    or (t.resolution is not null
      and ${dueBy(opened, 'resolution')}
      and ${notEscalated('resolution', opened)})
    or (t.next_response is not null and exists (
      select 1 from ticket_messages c
      where ${ofTicket('c')} and c.kind = 'customer_message'
        and ${dueBy(messageTime, 'next_response')}
        and ${replyEvent((time) => sql`${time} <= ${messageTime}`)}
        and not ${publicReplies(
          sql`${eventTime('r.created_at')} > ${messageTime} and ${clockTime(sql.ref('r.created_at'))} <= ${at}${
            breaching
              ? sql` and ${beforeTarget(eventTime('r.created_at'), messageTime, 'next_response')}`
              : sql``
          }`,
        )}
        and not exists (
          select 1 from ticket_messages c2
          where ${ofTicket('c2')} and c2.kind = 'customer_message' and ${earlierTime} < ${messageTime}
            and not ${replyEvent((time) => sql`${time} between ${earlierTime} and ${messageTime}`)})
        and ${notEscalated('next_response', messageTime)}))
  )
order by i.id`;
  // Costed above jit_above_cost with a few thousand open tickets, and compiling it took far longer than
  // running it (2.1 s of 2.4 s at 20,000 on PostgreSQL): JIT off, as for segments and attribution. PGlite
  // has no JIT.
  const result =
    database.engine === 'postgres'
      ? await database.transaction(async (tx) => {
          await sql`set local jit = off`.execute(tx.db);
          return query.execute(tx.db);
        })
      : await query.execute(database.db);
  return result.rows.map((row) => ({ customerId: Number(row.customer_id), ticketId: Number(row.id) }));
}

/** Candidates are loaded and escalated this many at a time. */
const ESCALATION_BATCH = 500;

/**
 * Escalates every open ticket whose clock has breached by `now` (the route, the CLI and the worker of
 * `kizuna serve --flows`, which calls it every poll). Only the candidates found in SQL
 * (clockCandidates for escalation) are loaded; the exact rule is escalateBreaches'.
 */
export async function escalateDueBreaches(database: Database, now = new Date()): Promise<Escalation[]> {
  const candidates = await clockCandidates(database, now, 'escalation');
  const created: Escalation[] = [];
  for (let start = 0; start < candidates.length; start += ESCALATION_BATCH) {
    const batch = candidates.slice(start, start + ESCALATION_BATCH);
    created.push(
      ...(await escalateBreaches(database, now, await loadSlaTickets(database, { tickets: batch }))),
    );
  }
  // The order of one batch: oldest breach first.
  return created.sort((a, b) => a.breachedAt.getTime() - b.breachedAt.getTime() || a.id - b.id);
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
