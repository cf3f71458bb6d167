import { type Kysely, sql } from 'kysely';
import { z } from 'zod';
import { type Actor, customerInStores } from '../auth/index.ts';
import { DEFAULT_PAGING, type Paging, pageOf } from '../commerce/index.ts';
import type { Database, FollowUpState, InteractionKind, Schema } from '../db/index.ts';
import { KizunaError } from '../errors.ts';

/**
 * Follow-up (MISSION §7): when a complaint or request is resolved, a task is scheduled some days later
 * (14 by default, `KIZUNA_FOLLOW_UP_DAYS`) — "last time you had this problem — how is it now?". It is
 * assigned to whoever had the ticket, appears in their queue and in the customer 360 once due, and the
 * answer is recorded. Reopening the ticket cancels the waiting follow-up; resolving again schedules a
 * new one (at most one waits per ticket).
 */

export const FOLLOW_UP_KINDS: readonly InteractionKind[] = ['complaint', 'request'];
export const DEFAULT_FOLLOW_UP_DAYS = 14;

type Db = Kysely<Schema>;

export function followUpDays(): number {
  const configured = Number(process.env.KIZUNA_FOLLOW_UP_DAYS);
  return Number.isInteger(configured) && configured > 0 ? configured : DEFAULT_FOLLOW_UP_DAYS;
}

/** The sentence an agent can say or adapt. */
export function followUpPrompt(subject: string | null, kind: InteractionKind): string {
  const what = subject ? `「${subject}」` : kind === 'complaint' ? 'a problem' : 'a request';
  return `Last time: ${what} — how is it now?`;
}

type ResolvedTicket = {
  customer_id: number;
  id: number;
  kind: InteractionKind;
  subject: string | null;
  owner_staff_id: number | null;
};

/** Schedules the follow-up of a resolved complaint or request (nothing for other kinds). */
export async function scheduleFollowUp(
  db: Db,
  ticket: ResolvedTicket,
  resolvedAt: Date,
  days: number = followUpDays(),
): Promise<void> {
  if (!FOLLOW_UP_KINDS.includes(ticket.kind)) return;
  await db
    .insertInto('follow_ups')
    .values({
      customer_id: ticket.customer_id,
      interaction_id: ticket.id,
      due_at: new Date(resolvedAt.getTime() + days * 86_400_000),
      prompt: followUpPrompt(ticket.subject, ticket.kind),
      assignee_staff_id: ticket.owner_staff_id,
    })
    .onConflict((oc) => oc.columns(['customer_id', 'interaction_id']).where('state', '=', 'due').doNothing())
    .execute();
}

/** A reopened ticket is not finished: its waiting follow-up is cancelled. */
export async function cancelFollowUps(db: Db, ticket: { customer_id: number; id: number }): Promise<void> {
  await db
    .updateTable('follow_ups')
    .set({ state: 'cancelled' })
    .where('customer_id', '=', ticket.customer_id)
    .where('interaction_id', '=', ticket.id)
    .where('state', '=', 'due')
    .execute();
}

export type FollowUp = {
  id: number;
  customerId: number;
  customerName: string | null;
  ticketId: number;
  ticketSubject: string | null;
  ticketKind: InteractionKind;
  dueAt: Date;
  prompt: string;
  state: FollowUpState;
  assigneeStaffId: number | null;
  answer: string | null;
  answeredByStaffId: number | null;
  answeredAt: Date | null;
};

export type FollowUpFilter = {
  /** Due at or before this moment (default now; null: whenever); only for state 'due'. */
  dueBy?: Date | null;
  state?: FollowUpState;
  /** 'mine': assigned to the actor; a number: that staff member. */
  assignee?: 'mine' | number;
  customerId?: number;
  ticketId?: number;
};

/** Follow-ups in the actor's store scope, soonest due first. */
export async function listFollowUps(
  database: Database,
  actor: Actor,
  filter: FollowUpFilter = {},
  paging: Paging = DEFAULT_PAGING,
): Promise<{ followUps: FollowUp[]; hasMore: boolean }> {
  const state = filter.state ?? 'due';
  let query = database.db
    .selectFrom('follow_ups as f')
    .innerJoin('interactions as i', (j) =>
      j.onRef('i.customer_id', '=', 'f.customer_id').onRef('i.id', '=', 'f.interaction_id'),
    )
    .innerJoin('customers as c', 'c.id', 'f.customer_id')
    .select([
      'f.id',
      'f.customer_id',
      'c.name as customer_name',
      'f.interaction_id',
      'i.subject',
      'i.kind',
      'f.due_at',
      'f.prompt',
      'f.state',
      'f.assignee_staff_id',
      'f.answer',
      'f.answered_by_staff_id',
      'f.answered_at',
    ])
    .where('f.state', '=', state)
    .where(customerInStores(actor, sql.ref('f.customer_id')));
  if (state === 'due' && filter.dueBy !== null)
    query = query.where('f.due_at', '<=', filter.dueBy ?? new Date());
  if (filter.assignee === 'mine') {
    if (actor.staffId === null) {
      throw new KizunaError(
        'no_staff_member',
        'assignee mine: only a signed-in staff member has follow-ups',
        {
          field: 'assignee',
        },
      );
    }
    query = query.where('f.assignee_staff_id', '=', actor.staffId);
  } else if (typeof filter.assignee === 'number') {
    query = query.where('f.assignee_staff_id', '=', filter.assignee);
  }
  if (filter.customerId !== undefined) query = query.where('f.customer_id', '=', filter.customerId);
  if (filter.ticketId !== undefined) query = query.where('f.interaction_id', '=', filter.ticketId);
  const rows = await query
    .orderBy('f.due_at')
    .orderBy('f.id')
    .limit(paging.limit + 1)
    .offset(paging.offset)
    .execute();
  const page = pageOf(rows, paging);
  return {
    followUps: page.items.map((r) => ({
      id: r.id,
      customerId: r.customer_id,
      customerName: r.customer_name,
      ticketId: r.interaction_id,
      ticketSubject: r.subject,
      ticketKind: r.kind,
      dueAt: r.due_at,
      prompt: r.prompt,
      state: r.state,
      assigneeStaffId: r.assignee_staff_id,
      answer: r.answer,
      answeredByStaffId: r.answered_by_staff_id,
      answeredAt: r.answered_at,
    })),
    hasMore: page.hasMore,
  };
}

export const FollowUpAnswer = z.strictObject({
  answer: z.string().trim().min(1, 'must not be empty').max(5000).describe('what the customer said'),
  state: z
    .enum(['done', 'cancelled'])
    .optional()
    .describe('done (default): the customer was reached; cancelled: not needed any more'),
});
export type FollowUpAnswer = z.output<typeof FollowUpAnswer>;

/**
 * Records the customer's answer. A follow-up is answered once: answering a done or cancelled one is
 * refused (409); a problem that came back is a new ticket.
 */
export async function answerFollowUp(
  database: Database,
  actor: Actor,
  customerId: number,
  followUpId: number,
  input: FollowUpAnswer,
  at: Date = new Date(),
): Promise<{ id: number; state: FollowUpState; answer: string | null; answeredAt: Date | null }> {
  const row = await database.db
    .updateTable('follow_ups')
    .set({
      state: input.state ?? 'done',
      answer: input.answer,
      answered_by_staff_id: actor.staffId,
      answered_at: at,
    })
    .where('customer_id', '=', customerId)
    .where('id', '=', followUpId)
    .where('state', '=', 'due')
    .returning(['id', 'state', 'answer', 'answered_at'])
    .executeTakeFirst();
  if (row) return { id: row.id, state: row.state, answer: row.answer, answeredAt: row.answered_at };
  const exists = await database.db
    .selectFrom('follow_ups')
    .select('state')
    .where('customer_id', '=', customerId)
    .where('id', '=', followUpId)
    .executeTakeFirst();
  if (!exists) {
    throw new KizunaError('follow_up_not_found', `Customer ${customerId} has no follow-up ${followUpId}`, {
      status: 404,
    });
  }
  throw new KizunaError('follow_up_finished', `Follow-up ${followUpId} is already ${exists.state}`, {
    status: 409,
  });
}

/** The customer of a follow-up (the routes address follow-ups by id), or 404. */
export async function customerOfFollowUp(database: Database, followUpId: number): Promise<number> {
  const row = await database.db
    .selectFrom('follow_ups')
    .select('customer_id')
    .where('id', '=', followUpId)
    .executeTakeFirst();
  if (!row) throw new KizunaError('follow_up_not_found', `No follow-up ${followUpId}`, { status: 404 });
  return row.customer_id;
}
