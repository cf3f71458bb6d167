import { type Kysely, sql } from 'kysely';
import { z } from 'zod';
import { type Actor, customerInStores, ForbiddenError, requireCustomerInScope } from '../auth/index.ts';
import { DEFAULT_PAGING, type Paging, pageOf, requireNotErased } from '../commerce/index.ts';
import type {
  AttachmentRef,
  Database,
  InteractionChannel,
  InteractionKind,
  InteractionStatus,
  Schema,
  TicketMessageKind,
  TicketPriority,
} from '../db/index.ts';
import { KizunaError } from '../errors.ts';
import { clockCandidates, type EscalationTicket } from './escalation.ts';
import { cancelFollowUps, scheduleFollowUp } from './follow-up.ts';
import {
  INTERACTION_CHANNELS,
  INTERACTION_KINDS,
  INTERACTION_STATUSES,
  TICKET_PRIORITIES,
} from './interactions.ts';
import { redactForRole } from './redaction.ts';
import { NO_SLA, type SlaState } from './sla.ts';
import { loadSlaSetup, slaStateOf, slaStateWith } from './sla-policies.ts';

/**
 * Tickets: interactions worked by the service desk. A ticket is an `interactions` row (kind, channel,
 * status, priority, team, assignee = owner_staff_id, store) plus its conversation in `ticket_messages`:
 * what the customer wrote, public replies (the only messages that count as a response: the first one
 * stamps first_response_at) and internal notes (never sent). Every status move is written to
 * `ticket_status_changes`, which the SLA clocks read to pause while the ticket waits for the customer.
 * Resolving a complaint or request schedules its follow-up (follow-up.ts); a customer writing again on
 * a waiting or resolved ticket reopens it.
 */

export const TICKET_MESSAGE_KINDS = [
  'customer_message',
  'public_reply',
  'internal_note',
] as const satisfies readonly TicketMessageKind[];
const FINISHED: ReadonlySet<InteractionStatus> = new Set(['resolved', 'closed']);
const UNFINISHED = ['new', 'open', 'waiting'] as const;

type Db = Kysely<Schema>;

const dateTime = z.iso
  .datetime({ offset: true, message: 'must be an ISO 8601 date-time with a time zone' })
  .transform((value) => new Date(value));

export const AttachmentInput = z.strictObject({
  name: z.string().trim().min(1).max(255),
  type: z.string().max(255).nullable().optional(),
  size: z.number().int().min(0).nullable().optional(),
  url: z.string().max(2000).nullable().optional().describe('where the content lives (a link or a path)'),
});

const attachments = z.array(AttachmentInput).max(50).optional();
const body = z.string().trim().min(1, 'must not be empty').max(100_000);

export const TicketInput = z.strictObject({
  kind: z.enum(INTERACTION_KINDS),
  channel: z.enum(INTERACTION_CHANNELS),
  priority: z.enum(TICKET_PRIORITIES).optional().describe('default normal'),
  subject: z.string().trim().min(1).max(500),
  body: body.optional().describe('what the customer said or wrote: the first message of the ticket'),
  storeId: z.number().int().positive().nullable().optional(),
  assigneeStaffId: z.number().int().positive().nullable().optional(),
  teamId: z.number().int().positive().nullable().optional(),
  attachments,
  openedAt: dateTime.optional().describe('default: now'),
});
export type TicketInput = z.output<typeof TicketInput>;

export const ReplyInput = z.strictObject({
  body,
  attachments,
  status: z
    .enum(INTERACTION_STATUSES)
    .optional()
    .describe('move the ticket on in the same step, e.g. waiting (for the customer) or resolved'),
});
export type ReplyInput = z.output<typeof ReplyInput>;

export const NoteInput = z.strictObject({ body, attachments });
export type NoteInput = z.output<typeof NoteInput>;

export const AssignInput = z
  .strictObject({
    assigneeStaffId: z.number().int().positive().nullable().optional(),
    teamId: z.number().int().positive().nullable().optional(),
  })
  .refine((a) => a.assigneeStaffId !== undefined || a.teamId !== undefined, {
    message: 'give assigneeStaffId or teamId (null to clear)',
  });
export type AssignInput = z.output<typeof AssignInput>;

export type Ticket = {
  id: number;
  customerId: number;
  kind: InteractionKind;
  channel: InteractionChannel;
  status: InteractionStatus;
  priority: TicketPriority;
  subject: string | null;
  body: string | null;
  bodyRedacted: boolean;
  storeId: number | null;
  assigneeStaffId: number | null;
  assigneeName: string | null;
  teamId: number | null;
  teamName: string | null;
  openedAt: Date;
  firstResponseAt: Date | null;
  resolvedAt: Date | null;
};

export type TicketMessage = {
  id: number;
  kind: TicketMessageKind;
  authorStaffId: number | null;
  authorName: string | null;
  fromAddress: string | null;
  subject: string | null;
  body: string | null;
  bodyRedacted: boolean;
  attachments: AttachmentRef[];
  messageId: string | null;
  inReplyTo: string | null;
  delivery: 'sent' | 'failed' | null;
  deliveryError: string | null;
  createdAt: Date;
};

export type TicketStatusChange = {
  fromStatus: InteractionStatus | null;
  toStatus: InteractionStatus;
  changedByStaffId: number | null;
  changedAt: Date;
};

type TicketRow = {
  id: number;
  customer_id: number;
  kind: InteractionKind;
  channel: InteractionChannel;
  status: InteractionStatus;
  priority: TicketPriority;
  subject: string | null;
  body: string | null;
  store_id: number | null;
  owner_staff_id: number | null;
  assignee_name: string | null;
  team_id: number | null;
  team_name: string | null;
  opened_at: Date;
  first_response_at: Date | null;
  resolved_at: Date | null;
};

function ticketQuery(db: Db) {
  return db
    .selectFrom('interactions as i')
    .leftJoin('staff as st', 'st.id', 'i.owner_staff_id')
    .leftJoin('teams as tm', 'tm.id', 'i.team_id')
    .select([
      'i.id',
      'i.customer_id',
      'i.kind',
      'i.channel',
      'i.status',
      'i.priority',
      'i.subject',
      'i.body',
      'i.store_id',
      'i.owner_staff_id',
      'st.name as assignee_name',
      'i.team_id',
      'tm.name as team_name',
      'i.opened_at',
      'i.first_response_at',
      'i.resolved_at',
    ]);
}

const toTicket = (r: TicketRow) => ({
  id: r.id,
  customerId: r.customer_id,
  kind: r.kind,
  channel: r.channel,
  status: r.status,
  priority: r.priority,
  subject: r.subject,
  body: r.body,
  storeId: r.store_id,
  assigneeStaffId: r.owner_staff_id,
  assigneeName: r.assignee_name,
  teamId: r.team_id,
  teamName: r.team_name,
  openedAt: r.opened_at,
  firstResponseAt: r.first_response_at,
  resolvedAt: r.resolved_at,
});

async function viewTickets(database: Database, actor: Actor, rows: TicketRow[]): Promise<Ticket[]> {
  return redactForRole(database, actor.role, rows.map(toTicket));
}

/** The ticket row, or 404. */
async function loadTicketRow(db: Db, customerId: number, ticketId: number, lock = false): Promise<TicketRow> {
  if (lock) {
    // Serialises concurrent moves of one ticket (two agents resolving at once write one status change).
    await db
      .selectFrom('interactions')
      .select('id')
      .where('customer_id', '=', customerId)
      .where('id', '=', ticketId)
      .forUpdate()
      .executeTakeFirst();
  }
  const row = await ticketQuery(db)
    .where('i.customer_id', '=', customerId)
    .where('i.id', '=', ticketId)
    .executeTakeFirst();
  if (!row) {
    throw new KizunaError('ticket_not_found', `Customer ${customerId} has no ticket ${ticketId}`, {
      status: 404,
    });
  }
  return row;
}

/** The customer of a ticket (tickets are addressed by id alone in the ticket routes), or 404. */
export async function customerOfTicket(database: Database, ticketId: number): Promise<number> {
  const row = await database.db
    .selectFrom('interactions')
    .select('customer_id')
    .where('id', '=', ticketId)
    .executeTakeFirst();
  if (!row) throw new KizunaError('ticket_not_found', `No ticket ${ticketId}`, { status: 404 });
  return row.customer_id;
}

async function checkStaff(db: Db, staffId: number | null | undefined, field: string): Promise<void> {
  if (staffId == null) return;
  const row = await db
    .selectFrom('staff')
    .select('id')
    .where('id', '=', staffId)
    .where('disabled_at', 'is', null)
    .executeTakeFirst();
  if (!row) throw new KizunaError('unknown_staff', `${field}: no active staff member ${staffId}`, { field });
}

async function checkTeam(db: Db, teamId: number | null | undefined): Promise<void> {
  if (teamId == null) return;
  const row = await db.selectFrom('teams').select('id').where('id', '=', teamId).executeTakeFirst();
  if (!row) throw new KizunaError('unknown_team', `teamId: no team ${teamId}`, { field: 'teamId' });
}

async function checkStore(db: Db, actor: Actor, storeId: number | null | undefined): Promise<void> {
  if (storeId == null) return;
  const store = await db.selectFrom('stores').select('id').where('id', '=', storeId).executeTakeFirst();
  if (!store) throw new KizunaError('unknown_store', `storeId: no store ${storeId}`, { field: 'storeId' });
  if (actor.storeIds !== null && !actor.storeIds.includes(storeId)) {
    throw new ForbiddenError(`Store ${storeId} is not one of your stores`, 'store_out_of_scope');
  }
}

const attachmentRefs = (list: z.output<typeof attachments>): AttachmentRef[] =>
  (list ?? []).map((a) => ({ name: a.name, type: a.type ?? null, size: a.size ?? null, url: a.url ?? null }));

export type MessageFields = {
  kind: TicketMessageKind;
  body: string | null;
  subject?: string | null;
  attachments?: AttachmentRef[];
  authorStaffId?: number | null;
  authorName?: string | null;
  fromAddress?: string | null;
  messageId?: string | null;
  inReplyTo?: string | null;
  at?: Date;
};

async function insertMessage(
  db: Db,
  customerId: number,
  ticketId: number,
  m: MessageFields,
): Promise<number> {
  const row = await db
    .insertInto('ticket_messages')
    .values({
      customer_id: customerId,
      interaction_id: ticketId,
      kind: m.kind,
      author_staff_id: m.authorStaffId ?? null,
      author_name: m.authorName ?? null,
      from_address: m.fromAddress ?? null,
      subject: m.subject ?? null,
      body: m.body,
      attachments: JSON.stringify(m.attachments ?? []),
      message_id: m.messageId ?? null,
      in_reply_to: m.inReplyTo ?? null,
      ...(m.at ? { created_at: m.at } : {}),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

async function recordStatusChange(
  db: Db,
  ticket: { customer_id: number; id: number },
  from: InteractionStatus | null,
  to: InteractionStatus,
  staffId: number | null,
  at: Date,
): Promise<void> {
  await db
    .insertInto('ticket_status_changes')
    .values({
      customer_id: ticket.customer_id,
      interaction_id: ticket.id,
      from_status: from,
      to_status: to,
      changed_by_staff_id: staffId,
      changed_at: at,
    })
    .execute();
}

async function moveStatus(
  db: Db,
  ticket: TicketRow,
  to: InteractionStatus,
  staffId: number | null,
  at: Date,
): Promise<void> {
  if (ticket.status === to) return;
  const resolvedAt = FINISHED.has(to) ? (ticket.resolved_at ?? at) : null;
  await db
    .updateTable('interactions')
    .set({ status: to, resolved_at: resolvedAt })
    .where('customer_id', '=', ticket.customer_id)
    .where('id', '=', ticket.id)
    .execute();
  await recordStatusChange(db, ticket, ticket.status, to, staffId, at);
  if (FINISHED.has(to) && !FINISHED.has(ticket.status)) await scheduleFollowUp(db, ticket, resolvedAt!);
  if (!FINISHED.has(to) && FINISHED.has(ticket.status)) await cancelFollowUps(db, ticket);
}

export type OpenTicketOptions = {
  /** E-mail headers of the opening message (inbound mail). */
  fromAddress?: string | null;
  messageId?: string | null;
  inReplyTo?: string | null;
};

/**
 * Opens a ticket for a customer: status 'new', the first message as the customer's (body and
 * attachments), the status history starting at 'new'. The caller has checked the customer is in scope.
 */
export async function openTicket(
  database: Database,
  actor: Actor,
  customerId: number,
  input: TicketInput,
  options: OpenTicketOptions = {},
): Promise<Ticket> {
  await requireNotErased(database, customerId);
  const openedAt = input.openedAt ?? new Date();
  const id = await database.transaction(async ({ db }) => {
    await checkStore(db, actor, input.storeId);
    await checkStaff(db, input.assigneeStaffId, 'assigneeStaffId');
    await checkTeam(db, input.teamId);
    const row = await db
      .insertInto('interactions')
      .values({
        customer_id: customerId,
        kind: input.kind,
        channel: input.channel,
        status: 'new',
        priority: input.priority ?? 'normal',
        subject: input.subject,
        body: input.body ?? null,
        store_id: input.storeId ?? null,
        owner_staff_id: input.assigneeStaffId ?? null,
        team_id: input.teamId ?? null,
        opened_at: openedAt,
      })
      .returning(['id', 'customer_id'])
      .executeTakeFirstOrThrow();
    if (input.body !== undefined || (input.attachments?.length ?? 0) > 0 || options.messageId) {
      await insertMessage(db, customerId, row.id, {
        kind: 'customer_message',
        body: input.body ?? null,
        subject: input.subject,
        attachments: attachmentRefs(input.attachments),
        fromAddress: options.fromAddress,
        messageId: options.messageId,
        inReplyTo: options.inReplyTo,
        at: openedAt,
      });
    }
    await recordStatusChange(db, row, null, 'new', actor.staffId, openedAt);
    return row.id;
  });
  return (await viewTickets(database, actor, [await loadTicketRow(database.db, customerId, id)]))[0]!;
}

/** Mail sending for public replies: set by `configureReplyMailer` (tests) or built from SMTP_URL. */
export type ReplyMail = {
  to: string;
  subject: string;
  text: string;
  messageId: string;
  inReplyTo: string | null;
  references: string[];
};
export type ReplyMailer = (mail: ReplyMail) => Promise<void>;

let replyMailer: ReplyMailer | null | undefined;

/** Overrides how public replies are mailed (null: never mail). Tests use it to capture the messages. */
export function configureReplyMailer(mailer: ReplyMailer | null | undefined): void {
  replyMailer = mailer;
}

async function mailerFromEnvironment(): Promise<ReplyMailer | null> {
  if (replyMailer !== undefined) return replyMailer;
  const url = process.env.SMTP_URL;
  if (!url) return null;
  const nodemailer = await import('nodemailer');
  const transport = nodemailer.createTransport(url);
  const from = process.env.KIZUNA_MAIL_FROM ?? 'service@kizuna.invalid';
  return async (mail) => {
    await transport.sendMail({
      from,
      to: mail.to,
      subject: mail.subject,
      text: mail.text,
      messageId: mail.messageId,
      ...(mail.inReplyTo ? { inReplyTo: mail.inReplyTo } : {}),
      ...(mail.references.length > 0 ? { references: mail.references } : {}),
    });
  };
}

/** The subject token that threads a reply even when a mail program drops the headers: "[#123]". */
export const ticketToken = (ticketId: number) => `[#${ticketId}]`;

function newMessageId(ticketId: number): string {
  const domain = process.env.KIZUNA_MAIL_DOMAIN ?? 'kizuna.invalid';
  return `<ticket-${ticketId}.${Date.now().toString(36)}.${Math.random().toString(36).slice(2, 10)}@${domain}>`;
}

export type PostedMessage = { ticket: Ticket; message: TicketMessage };

async function messageById(database: Database, actor: Actor, customerId: number, id: number) {
  const messages = await listTicketMessages(database, actor, customerId, undefined, id);
  return messages[0]!;
}

/**
 * A public reply: recorded, counted as a response (the first stamps first_response_at), and mailed to
 * the customer when a mailer is configured (SMTP_URL), the ticket came by e-mail or web form and the
 * customer has an e-mail address. A 'new' ticket becomes 'open' unless `status` says otherwise. A failed
 * delivery is recorded on the message (delivery 'failed' and the error), the reply itself stays.
 */
export async function replyToTicket(
  database: Database,
  actor: Actor,
  customerId: number,
  ticketId: number,
  input: ReplyInput,
  at: Date = new Date(),
): Promise<PostedMessage> {
  const { messageId, mail } = await database.transaction(async ({ db }) => {
    const ticket = await loadTicketRow(db, customerId, ticketId, true);
    const previous = await db
      .selectFrom('ticket_messages')
      .select(['message_id'])
      .where('customer_id', '=', customerId)
      .where('interaction_id', '=', ticketId)
      .where('message_id', 'is not', null)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    const references = previous.map((m) => m.message_id!);
    const outgoingId = newMessageId(ticketId);
    const id = await insertMessage(db, customerId, ticketId, {
      kind: 'public_reply',
      body: input.body,
      attachments: attachmentRefs(input.attachments),
      authorStaffId: actor.staffId,
      authorName: actor.name,
      messageId: outgoingId,
      inReplyTo: references.at(-1) ?? null,
      at,
    });
    if (ticket.first_response_at === null) {
      await db
        .updateTable('interactions')
        .set({ first_response_at: at < ticket.opened_at ? ticket.opened_at : at })
        .where('customer_id', '=', customerId)
        .where('id', '=', ticketId)
        .execute();
    }
    const next = input.status ?? (ticket.status === 'new' ? 'open' : ticket.status);
    await moveStatus(db, ticket, next, actor.staffId, at);
    const customer = await db
      .selectFrom('customers')
      .select('email')
      .where('id', '=', customerId)
      .executeTakeFirstOrThrow();
    const mailable = (ticket.channel === 'email' || ticket.channel === 'web') && customer.email;
    return {
      messageId: id,
      mail: mailable
        ? {
            to: customer.email!,
            subject: `Re: ${ticket.subject ?? ''} ${ticketToken(ticketId)}`.trim(),
            text: input.body,
            messageId: outgoingId,
            inReplyTo: references.at(-1) ?? null,
            references,
          }
        : null,
    };
  });
  const mailer = mail ? await mailerFromEnvironment() : null;
  if (mail && mailer) {
    let delivery: { delivery: 'sent' | 'failed'; delivery_error: string | null };
    try {
      await mailer(mail);
      delivery = { delivery: 'sent', delivery_error: null };
    } catch (error) {
      delivery = {
        delivery: 'failed',
        delivery_error: String((error as Error).message ?? error).slice(0, 500),
      };
    }
    await database.db
      .updateTable('ticket_messages')
      .set(delivery)
      .where('customer_id', '=', customerId)
      .where('id', '=', messageId)
      .execute();
  }
  return {
    ticket: await getTicketSummary(database, actor, customerId, ticketId),
    message: await messageById(database, actor, customerId, messageId),
  };
}

/** An internal note: for staff only, never sent, not a response. */
export async function addInternalNote(
  database: Database,
  actor: Actor,
  customerId: number,
  ticketId: number,
  input: NoteInput,
  at: Date = new Date(),
): Promise<PostedMessage> {
  const id = await database.transaction(async ({ db }) => {
    await loadTicketRow(db, customerId, ticketId, true);
    return insertMessage(db, customerId, ticketId, {
      kind: 'internal_note',
      body: input.body,
      attachments: attachmentRefs(input.attachments),
      authorStaffId: actor.staffId,
      authorName: actor.name,
      at,
    });
  });
  return {
    ticket: await getTicketSummary(database, actor, customerId, ticketId),
    message: await messageById(database, actor, customerId, id),
  };
}

/**
 * The customer wrote again (an e-mail reply, a call noted by staff): recorded as a customer message; a
 * ticket waiting for the customer, or resolved, is open again (closed tickets stay closed: the caller
 * opens a new ticket for those).
 */
export async function addCustomerMessage(
  database: Database,
  actor: Actor,
  customerId: number,
  ticketId: number,
  message: Omit<MessageFields, 'kind'>,
): Promise<PostedMessage> {
  const at = message.at ?? new Date();
  const id = await database.transaction(async ({ db }) => {
    const ticket = await loadTicketRow(db, customerId, ticketId, true);
    const id = await insertMessage(db, customerId, ticketId, { ...message, kind: 'customer_message', at });
    if (ticket.status === 'waiting' || ticket.status === 'resolved') {
      await moveStatus(db, ticket, 'open', actor.staffId, at);
    }
    return id;
  });
  return {
    ticket: await getTicketSummary(database, actor, customerId, ticketId),
    message: await messageById(database, actor, customerId, id),
  };
}

/** Moves a ticket's status. Resolving a complaint or request schedules its follow-up (follow-up.ts). */
export async function setTicketStatus(
  database: Database,
  actor: Actor,
  customerId: number,
  ticketId: number,
  status: InteractionStatus,
  at: Date = new Date(),
): Promise<Ticket> {
  await database.transaction(async ({ db }) => {
    const ticket = await loadTicketRow(db, customerId, ticketId, true);
    if (status === 'new' && ticket.status !== 'new') {
      throw new KizunaError('invalid_status', 'status: a ticket cannot become new again; use open', {
        field: 'status',
      });
    }
    await moveStatus(db, ticket, status, actor.staffId, at);
  });
  return getTicketSummary(database, actor, customerId, ticketId);
}

/** Assigns a ticket to a staff member and/or a team (null clears). */
export async function assignTicket(
  database: Database,
  actor: Actor,
  customerId: number,
  ticketId: number,
  input: AssignInput,
): Promise<Ticket> {
  await database.transaction(async ({ db }) => {
    await loadTicketRow(db, customerId, ticketId, true);
    await checkStaff(db, input.assigneeStaffId, 'assigneeStaffId');
    await checkTeam(db, input.teamId);
    await db
      .updateTable('interactions')
      .set({
        ...(input.assigneeStaffId === undefined ? {} : { owner_staff_id: input.assigneeStaffId }),
        ...(input.teamId === undefined ? {} : { team_id: input.teamId }),
      })
      .where('customer_id', '=', customerId)
      .where('id', '=', ticketId)
      .execute();
  });
  return getTicketSummary(database, actor, customerId, ticketId);
}

export async function getTicketSummary(
  database: Database,
  actor: Actor,
  customerId: number,
  ticketId: number,
): Promise<Ticket> {
  return (await viewTickets(database, actor, [await loadTicketRow(database.db, customerId, ticketId)]))[0]!;
}

/** A ticket's messages in order; complaint text is withheld from roles that may not read it. */
export async function listTicketMessages(
  database: Database,
  actor: Actor,
  customerId: number,
  ticketId?: number,
  messageId?: number,
): Promise<TicketMessage[]> {
  let query = database.db
    .selectFrom('ticket_messages as m')
    .innerJoin('interactions as i', (j) =>
      j.onRef('i.customer_id', '=', 'm.customer_id').onRef('i.id', '=', 'm.interaction_id'),
    )
    .select([
      'm.id',
      'm.kind',
      'm.author_staff_id',
      'm.author_name',
      'm.from_address',
      'm.subject',
      'm.body',
      'm.attachments',
      'm.message_id',
      'm.in_reply_to',
      'm.delivery',
      'm.delivery_error',
      'm.created_at',
      'i.kind as interaction_kind',
    ])
    .where('m.customer_id', '=', customerId);
  if (ticketId !== undefined) query = query.where('m.interaction_id', '=', ticketId);
  if (messageId !== undefined) query = query.where('m.id', '=', messageId);
  const rows = await query.orderBy('m.created_at').orderBy('m.id').execute();
  const redacted = await redactForRole(database, actor.role, rows);
  return redacted.map((m) => ({
    id: m.id,
    kind: m.kind,
    authorStaffId: m.author_staff_id,
    authorName: m.author_name,
    fromAddress: m.from_address,
    subject: m.subject,
    body: m.body,
    bodyRedacted: m.bodyRedacted,
    attachments: m.attachments,
    messageId: m.message_id,
    inReplyTo: m.in_reply_to,
    delivery: m.delivery,
    deliveryError: m.delivery_error,
    createdAt: m.created_at,
  }));
}

export async function listStatusChanges(
  database: Database,
  customerId: number,
  ticketId: number,
): Promise<TicketStatusChange[]> {
  const rows = await database.db
    .selectFrom('ticket_status_changes')
    .select(['from_status', 'to_status', 'changed_by_staff_id', 'changed_at'])
    .where('customer_id', '=', customerId)
    .where('interaction_id', '=', ticketId)
    .orderBy('changed_at')
    .orderBy('id')
    .execute();
  return rows.map((r) => ({
    fromStatus: r.from_status,
    toStatus: r.to_status,
    changedByStaffId: r.changed_by_staff_id,
    changedAt: r.changed_at,
  }));
}

/**
 * A ticket in a queue: with its customer's name, so that a queue needs no request per row. Null when the
 * customer has no name or was erased (erasure empties the name; an erased customer is never named here).
 */
export type TicketListItem = Ticket & { customerName: string | null };

export const TICKET_QUEUES = ['all', 'mine', 'team', 'unassigned'] as const;
export type TicketQueue = (typeof TICKET_QUEUES)[number];

export type TicketFilter = {
  queue?: TicketQueue;
  /** Default: the unfinished statuses (new, open, waiting). */
  statuses?: readonly InteractionStatus[];
  priority?: TicketPriority;
  kind?: InteractionKind;
  teamId?: number;
  storeId?: number;
  customerId?: number;
  /** Only these tickets (breachingTickets: its candidates). */
  ticketIds?: readonly number[];
};

/**
 * Tickets in a queue, in store scope (customerInStores): mine (assigned to the actor), team (assigned to
 * one of the actor's teams), unassigned (no assignee), all. Urgent first, then oldest first. Each carries
 * its customer's name (one join on the customer's key).
 */
export async function listTickets(
  database: Database,
  actor: Actor,
  filter: TicketFilter = {},
  paging: Paging = DEFAULT_PAGING,
): Promise<{ tickets: TicketListItem[]; hasMore: boolean }> {
  const queue = filter.queue ?? 'all';
  if ((queue === 'mine' || queue === 'team') && actor.staffId === null) {
    throw new KizunaError('no_staff_member', `queue ${queue}: only a signed-in staff member has one`, {
      field: 'queue',
    });
  }
  let query = ticketQuery(database.db)
    .leftJoin('customers as c', 'c.id', 'i.customer_id')
    .select(sql<string | null>`case when c.erased_at is null then c.name end`.as('customer_name'))
    .where('i.status', 'in', [...(filter.statuses ?? UNFINISHED)])
    .where(customerInStores(actor, sql.ref('i.customer_id')));
  if (queue === 'mine') query = query.where('i.owner_staff_id', '=', actor.staffId!);
  if (queue === 'unassigned') query = query.where('i.owner_staff_id', 'is', null);
  if (queue === 'team') {
    query = query.where(
      'i.team_id',
      'in',
      database.db.selectFrom('team_members').select('team_id').where('staff_id', '=', actor.staffId!),
    );
  }
  if (filter.priority) query = query.where('i.priority', '=', filter.priority);
  if (filter.kind) query = query.where('i.kind', '=', filter.kind);
  if (filter.teamId !== undefined) query = query.where('i.team_id', '=', filter.teamId);
  if (filter.storeId !== undefined) query = query.where('i.store_id', '=', filter.storeId);
  if (filter.customerId !== undefined) query = query.where('i.customer_id', '=', filter.customerId);
  if (filter.ticketIds !== undefined)
    // A set to look up (a hash), not an array scanned for every row.
    query = query.where(sql<boolean>`i.id in (select unnest(${[...filter.ticketIds]}::bigint[]))`);
  const rows = await query
    .orderBy(sql`case i.priority when 'urgent' then 0 when 'high' then 1 when 'normal' then 2 else 3 end`)
    .orderBy('i.opened_at')
    .orderBy('i.id')
    .limit(paging.limit + 1)
    .offset(paging.offset)
    .execute();
  const page = pageOf(rows, paging);
  const tickets = await viewTickets(database, actor, page.items);
  return {
    tickets: tickets.map((ticket, index) => ({ ...ticket, customerName: page.items[index]!.customer_name })),
    hasMore: page.hasMore,
  };
}

/** Teams: a name and members (service:manage). */
export async function createTeam(database: Database, name: string, staffIds: readonly number[]) {
  return database.transaction(async ({ db }) => {
    for (const id of staffIds) await checkStaff(db, id, 'staffIds');
    const existing = await db.selectFrom('teams').select('id').where('name', '=', name).executeTakeFirst();
    if (existing)
      throw new KizunaError('team_exists', `name: a team ${name} exists`, { field: 'name', status: 409 });
    const team = await db
      .insertInto('teams')
      .values({ name })
      .returning(['id', 'name'])
      .executeTakeFirstOrThrow();
    if (staffIds.length > 0) {
      await db
        .insertInto('team_members')
        .values([...new Set(staffIds)].map((staff_id) => ({ team_id: team.id, staff_id })))
        .execute();
    }
    return { id: team.id, name: team.name, staffIds: [...new Set(staffIds)] };
  });
}

export async function listTeams(database: Database) {
  const rows = await database.db
    .selectFrom('teams as t')
    .leftJoin('team_members as m', 'm.team_id', 't.id')
    .select(['t.id', 't.name', 'm.staff_id'])
    .orderBy('t.name')
    .orderBy('m.staff_id')
    .execute();
  const teams = new Map<number, { id: number; name: string; staffIds: number[] }>();
  for (const r of rows) {
    const team = teams.get(r.id) ?? { id: r.id, name: r.name, staffIds: [] };
    if (r.staff_id !== null) team.staffIds.push(r.staff_id);
    teams.set(r.id, team);
  }
  return [...teams.values()];
}

/** Checks the actor may work on this ticket's customer (store scope). */
export async function requireTicketInScope(database: Database, actor: Actor, ticketId: number) {
  const customerId = await customerOfTicket(database, ticketId);
  await requireCustomerInScope(database, actor, customerId);
  return customerId;
}

export type SlaTicketFilter = {
  /** Statuses to load; default the unfinished ones (new, open, waiting). */
  statuses?: readonly InteractionStatus[];
  /** Tickets opened in [openedFrom, openedTo). */
  openedFrom?: Date;
  openedTo?: Date;
  /** Only these tickets (customer id and ticket id). */
  tickets?: ReadonlyArray<{ customerId: number; ticketId: number }>;
};

/**
 * Tickets with their SLA facts (S1's SlaTicket: kind, priority, the customer's tier, store, opening,
 * messages and status changes in time order), for the SLA clocks, the "breaching soon" queue, the
 * escalation job and the measures. Interactions recorded before tickets had messages carry
 * first_response_at only; it stands for a public reply then.
 */
export async function loadSlaTickets(
  database: Database,
  filter: SlaTicketFilter = {},
): Promise<EscalationTicket[]> {
  const db = database.db;
  if (filter.tickets && filter.tickets.length === 0) return [];
  let ticketQuery = db
    .selectFrom('interactions as i')
    .leftJoin('customer_measures as m', 'm.customer_id', 'i.customer_id')
    .select([
      'i.customer_id',
      'i.id',
      'i.kind',
      'i.priority',
      'i.store_id',
      'i.owner_staff_id',
      'i.opened_at',
      'i.first_response_at',
      'm.tier',
    ])
    .where('i.status', 'in', [...(filter.statuses ?? UNFINISHED)]);
  if (filter.openedFrom) ticketQuery = ticketQuery.where('i.opened_at', '>=', filter.openedFrom);
  if (filter.openedTo) ticketQuery = ticketQuery.where('i.opened_at', '<', filter.openedTo);
  if (filter.tickets)
    ticketQuery = ticketQuery.where(
      'i.id',
      'in',
      filter.tickets.map((t) => t.ticketId),
    );
  const tickets = await ticketQuery.execute();
  if (tickets.length === 0) return [];
  const ids = tickets.map((t) => t.id);
  const [messages, changes] = await Promise.all([
    db
      .selectFrom('ticket_messages')
      .select(['customer_id', 'interaction_id', 'kind', 'created_at'])
      .where('interaction_id', 'in', ids)
      .orderBy('created_at')
      .orderBy('id')
      .execute(),
    db
      .selectFrom('ticket_status_changes')
      .select(['customer_id', 'interaction_id', 'to_status', 'changed_at'])
      .where('interaction_id', 'in', ids)
      .orderBy('changed_at')
      .orderBy('id')
      .execute(),
  ]);
  const key = (customerId: number, id: number) => `${customerId}:${id}`;
  const byTicket = new Map<string, EscalationTicket>();
  for (const row of tickets) {
    byTicket.set(key(row.customer_id, row.id), {
      customerId: row.customer_id,
      interactionId: row.id,
      assigneeStaffId: row.owner_staff_id,
      storeId: row.store_id,
      sla: {
        kind: row.kind,
        priority: row.priority,
        tier: row.tier ?? null,
        storeId: row.store_id,
        openedAt: row.opened_at,
        events: [],
      },
    });
  }
  for (const m of messages) {
    byTicket.get(key(m.customer_id, m.interaction_id))?.sla.events.push({ at: m.created_at, type: m.kind });
  }
  for (const c of changes) {
    byTicket
      .get(key(c.customer_id, c.interaction_id))
      ?.sla.events.push({ at: c.changed_at, type: 'status', status: c.to_status });
  }
  for (const row of tickets) {
    const ticket = byTicket.get(key(row.customer_id, row.id));
    if (!ticket || row.first_response_at === null) continue;
    if (!ticket.sla.events.some((event) => event.type === 'public_reply')) {
      ticket.sla.events.push({ at: row.first_response_at, type: 'public_reply' });
    }
  }
  for (const ticket of byTicket.values()) ticket.sla.events.sort((a, b) => a.at.getTime() - b.at.getTime());
  return [...byTicket.values()];
}

export type BreachingTicket = TicketListItem & { sla: SlaState; dueAt: Date | null };

/** The earliest due time among a state's clocks that still run (or ran late and still wait). */
function nextDue(state: SlaState): Date | null {
  const due = [state.firstResponse, state.nextResponse, state.resolution]
    .filter((c) => c !== null && c.metAt === null && c.dueAt !== null)
    .map((c) => c!.dueAt!.getTime());
  return due.length === 0 ? null : new Date(Math.min(...due));
}

/**
 * "Breaching soon": the unfinished tickets in the actor's scope (and queue) whose SLA is near breach or
 * breached at `now` (escalated or not), soonest due first. Only the tickets that may be (clockCandidates,
 * chosen in SQL) are listed and checked exactly; the others cannot be near breach or breached.
 */
export async function breachingTickets(
  database: Database,
  actor: Actor,
  filter: Omit<TicketFilter, 'statuses' | 'ticketIds'> = {},
  now: Date = new Date(),
): Promise<BreachingTicket[]> {
  const candidates = await clockCandidates(
    database,
    now,
    'breaching',
    customerInStores(actor, sql.ref('i.customer_id')),
  );
  // The candidates in one page: every page of a queue sorts the whole queue again.
  return breachingAmong(
    database,
    actor,
    { ...filter, ticketIds: candidates.map((c) => c.ticketId) },
    now,
    Math.max(200, candidates.length),
  );
}

/**
 * The breaching list among the tickets of `filter` (all of the queue without ticketIds: the rule before
 * the SQL pre-filter, kept for the tests that compare the two).
 */
export async function breachingAmong(
  database: Database,
  actor: Actor,
  filter: Omit<TicketFilter, 'statuses'>,
  now: Date,
  pageSize = 200,
): Promise<BreachingTicket[]> {
  const all: TicketListItem[] = [];
  for (let offset = 0; ; offset += pageSize) {
    const page = await listTickets(database, actor, filter, { limit: pageSize, offset });
    all.push(...page.tickets);
    if (!page.hasMore) break;
  }
  const facts = await loadSlaTickets(database, {
    tickets: all.map((t) => ({ customerId: t.customerId, ticketId: t.id })),
  });
  const setup = await loadSlaSetup(database);
  const states = new Map(facts.map((f) => [f.interactionId, slaStateWith(setup, f.sla, now)]));
  return all
    .map((ticket) => {
      const sla = states.get(ticket.id)!;
      return { ...ticket, sla, dueAt: sla ? nextDue(sla) : null };
    })
    .filter((t) => t.sla && (t.sla.worst === 'near_breach' || t.sla.worst === 'breached'))
    .sort((a, b) => (a.dueAt?.getTime() ?? Infinity) - (b.dueAt?.getTime() ?? Infinity));
}

/** The SLA state of one ticket at `now` (the ticket view). */
export async function ticketSla(
  database: Database,
  customerId: number,
  ticketId: number,
  now: Date = new Date(),
): Promise<SlaState> {
  const [facts] = await loadSlaTickets(database, {
    statuses: INTERACTION_STATUSES,
    tickets: [{ customerId, ticketId }],
  });
  return facts ? slaStateOf(database, facts.sla, now) : NO_SLA;
}
