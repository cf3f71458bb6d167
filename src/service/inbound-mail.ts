import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import type { Actor } from '../auth/index.ts';
import { createCustomer } from '../customers/index.ts';
import type { AttachmentRef, Database } from '../db/index.ts';
import { KizunaError } from '../errors.ts';
import { addCustomerMessage, openTicket, type Ticket } from './tickets.ts';

/**
 * Inbound e-mail: a raw RFC 822 message becomes a ticket message. Parsing is mailparser's (MIME parts,
 * quoted-printable and base64, ISO-2022-JP / Shift_JIS / UTF-8 bodies and encoded-word subjects).
 *
 * - Sender: the From address, matched case-insensitively to a live customer's e-mail (merged-away and
 *   erased records are skipped; several matches: the oldest record). An unknown sender becomes a new
 *   customer (acquisition source 'email', the display name as name) unless `unknownSender: 'refuse'`.
 * - Threading: the message's In-Reply-To and References are looked up among the message ids of every
 *   ticket's messages (ours included: public replies go out with their own Message-ID); failing that,
 *   a subject token "[#123]" of a ticket of the same customer. A match on a closed ticket opens a new
 *   ticket; otherwise the message joins the ticket (reopening it if waiting or resolved).
 * - Idempotent: a Message-ID already stored is not stored again (`outcome: 'duplicate'`).
 * - Body: the text part, else the HTML part as text. Attachments are kept as references (name, type,
 *   size); their content is written to `attachmentDir` (KIZUNA_ATTACHMENT_DIR) when one is set, and then
 *   the reference's url is the file's path; otherwise the content is dropped.
 * - Time: the Date header, unless it is missing or more than 5 minutes in the future (then the time of
 *   receipt), so a mailbox can be backfilled with its history.
 */

export type InboundOptions = {
  unknownSender?: 'create' | 'refuse';
  /** Default kind of a new ticket. */
  kind?: 'inquiry' | 'request' | 'complaint' | 'suggestion';
  attachmentDir?: string | null;
  receivedAt?: Date;
};

export type InboundResult = {
  outcome: 'opened' | 'threaded' | 'duplicate';
  customerId: number;
  customerCreated: boolean;
  ticketId: number;
  messageId: string | null;
  ticket?: Ticket;
};

const MAX_SUBJECT = 500;

function htmlToText(html: string): string {
  return html
    .replace(/<(script|style)[\s\S]*?<\/\1>/gi, '')
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/<\/(p|div|li|tr|h\d)>/gi, '\n')
    .replace(/<[^>]+>/g, '')
    .replace(/&nbsp;/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

const idsOf = (value: string | string[] | undefined): string[] =>
  (Array.isArray(value) ? value : value ? value.split(/\s+/) : []).map((v) => v.trim()).filter(Boolean);

const safeName = (name: string) => name.replace(/[^\p{L}\p{N}._-]+/gu, '_').slice(0, 120) || 'attachment';

export async function receiveEmail(
  database: Database,
  actor: Actor,
  raw: Buffer | string,
  options: InboundOptions = {},
): Promise<InboundResult> {
  const parsed = await simpleParser(raw, { skipImageLinks: true, skipTextToHtml: true });
  const sender = parsed.from?.value[0];
  const address = sender?.address?.trim().toLowerCase();
  if (!address) {
    throw new KizunaError('mail_without_sender', 'The message has no From address', { field: 'from' });
  }
  const messageId = parsed.messageId?.trim() || null;
  // The Date header (the sender's clock) dates the message, unless it is missing or in the future.
  const now = new Date();
  const dated = parsed.date && parsed.date.getTime() <= now.getTime() + 5 * 60_000 ? parsed.date : now;
  const receivedAt = options.receivedAt ?? dated;

  if (messageId) {
    const seen = await database.db
      .selectFrom('ticket_messages')
      .select(['customer_id', 'interaction_id'])
      .where('message_id', '=', messageId)
      .executeTakeFirst();
    if (seen) {
      return {
        outcome: 'duplicate',
        customerId: seen.customer_id,
        customerCreated: false,
        ticketId: seen.interaction_id,
        messageId,
      };
    }
  }

  const subject = (parsed.subject ?? '').trim().slice(0, MAX_SUBJECT) || '(no subject)';
  const body =
    (parsed.text?.trim() || (parsed.html ? htmlToText(parsed.html) : '')).slice(0, 100_000) || null;
  const inReplyTo = idsOf(parsed.inReplyTo)[0] ?? null;
  const threadIds = [...new Set([...idsOf(parsed.inReplyTo), ...idsOf(parsed.references)])];

  // The thread: a stored message this one answers, else a "[#123]" token of this sender's ticket.
  let thread: { customerId: number; ticketId: number; status: string } | null = null;
  if (threadIds.length > 0) {
    const row = await database.db
      .selectFrom('ticket_messages as m')
      .innerJoin('interactions as i', (j) =>
        j.onRef('i.customer_id', '=', 'm.customer_id').onRef('i.id', '=', 'm.interaction_id'),
      )
      .select(['i.customer_id', 'i.id', 'i.status'])
      .where('m.message_id', 'in', threadIds)
      .orderBy('m.created_at', 'desc')
      .executeTakeFirst();
    if (row) thread = { customerId: row.customer_id, ticketId: row.id, status: row.status };
  }
  const token = /\[#(\d{1,15})\]/.exec(subject);
  if (!thread && token) {
    const row = await database.db
      .selectFrom('interactions as i')
      .innerJoin('customers as c', 'c.id', 'i.customer_id')
      .select(['i.customer_id', 'i.id', 'i.status'])
      .where('i.id', '=', Number(token[1]))
      .where((eb) => eb(eb.fn('lower', ['c.email']), '=', address))
      .executeTakeFirst();
    if (row) thread = { customerId: row.customer_id, ticketId: row.id, status: row.status };
  }

  let customerId: number;
  let customerCreated = false;
  if (thread) {
    customerId = thread.customerId;
  } else {
    const found = await database.db
      .selectFrom('customers')
      .select('id')
      .where((eb) => eb(eb.fn('lower', ['email']), '=', address))
      .where('merged_into_customer_id', 'is', null)
      .where('erased_at', 'is', null)
      .orderBy('id')
      .executeTakeFirst();
    if (found) {
      customerId = found.id;
    } else if (options.unknownSender === 'refuse') {
      throw new KizunaError('unknown_sender', `from: no customer has the e-mail address ${address}`, {
        field: 'from',
        status: 422,
      });
    } else {
      const created = await createCustomer(
        database,
        actor,
        {
          email: address,
          ...(sender?.name ? { name: sender.name.slice(0, 200) } : {}),
          acquisition_source: 'email',
        },
        'email',
      );
      customerId = created.id;
      customerCreated = true;
    }
  }

  const attachments: AttachmentRef[] = [];
  const files: { path: string; content: Buffer }[] = [];
  const folder = options.attachmentDir ?? process.env.KIZUNA_ATTACHMENT_DIR ?? null;
  const stamp = `${receivedAt.getTime().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  parsed.attachments.forEach((a, index) => {
    const name = a.filename ?? `attachment-${index + 1}`;
    const path = folder ? join(folder, String(customerId), `${stamp}-${index + 1}-${safeName(name)}`) : null;
    if (path) files.push({ path, content: a.content });
    attachments.push({ name, type: a.contentType ?? null, size: a.size ?? a.content.length, url: path });
  });
  for (const file of files) {
    await mkdir(join(file.path, '..'), { recursive: true });
    await writeFile(file.path, file.content);
  }

  const headers = { fromAddress: address, messageId, inReplyTo };
  if (thread && thread.status !== 'closed') {
    const posted = await addCustomerMessage(database, actor, customerId, thread.ticketId, {
      ...headers,
      subject,
      body,
      attachments,
      at: receivedAt,
    });
    return {
      outcome: 'threaded',
      customerId,
      customerCreated,
      ticketId: thread.ticketId,
      messageId,
      ticket: posted.ticket,
    };
  }
  const ticket = await openTicket(
    database,
    actor,
    customerId,
    {
      kind: options.kind ?? 'inquiry',
      channel: 'email',
      subject,
      ...(body ? { body } : {}),
      attachments: attachments.map((a) => ({ ...a })),
      openedAt: receivedAt,
    },
    headers,
  );
  return { outcome: 'opened', customerId, customerCreated, ticketId: ticket.id, messageId, ticket };
}
