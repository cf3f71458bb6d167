import { z } from 'zod';
import { signLink, verifyLink } from '../auth/index.ts';
import type { Database } from '../db/index.ts';
import { KizunaError } from '../errors.ts';

/**
 * Satisfaction (CSAT): after a ticket is resolved the customer gets a signed link (no login) to a
 * one-question form, 1–5 and a comment. The link names the ticket and the customer and expires after
 * `CSAT_LINK_DAYS`. The answer is stored per ticket, with the agent who had the ticket when it was
 * answered; answering again through the same link replaces the earlier answer (a customer who clicked
 * the wrong star can correct it), so each ticket counts once in the measures.
 */

export const CSAT_PURPOSE = 'csat';
export const CSAT_LINK_DAYS = 30;

export const CsatAnswer = z.object({
  score: z.coerce.number().int('must be a whole number').min(1, 'must be 1 to 5').max(5, 'must be 1 to 5'),
  comment: z.string().trim().max(2000).optional(),
});
export type CsatAnswer = z.output<typeof CsatAnswer>;

/** The public base address links are made of (`KIZUNA_PUBLIC_URL`, default http://localhost:3000). */
export function publicBaseUrl(): string {
  return (process.env.KIZUNA_PUBLIC_URL ?? 'http://localhost:3000').replace(/\/+$/, '');
}

/** A signed satisfaction link for one ticket. */
export async function csatLink(
  database: Database,
  customerId: number,
  ticketId: number,
  now: Date = new Date(),
): Promise<{ token: string; url: string; expiresAt: Date }> {
  const expiresAt = new Date(now.getTime() + CSAT_LINK_DAYS * 86_400_000);
  const token = await signLink(database, {
    purpose: CSAT_PURPOSE,
    subject: ticketId,
    extra: { customer: customerId },
    exp: Math.floor(expiresAt.getTime() / 1000),
  });
  return { token, url: `${publicBaseUrl()}/s/${token}`, expiresAt };
}

export type CsatTicket = {
  customerId: number;
  ticketId: number;
  subject: string | null;
  status: string;
  answered: { score: number; comment: string | null } | null;
};

/** The ticket a genuine link is for (400 invalid_link otherwise, 404 when the ticket is gone). */
export async function csatTicket(
  database: Database,
  token: string,
  now: Date = new Date(),
): Promise<CsatTicket> {
  const payload = await verifyLink(database, token, CSAT_PURPOSE, now);
  const customerId = Number(payload.extra?.customer);
  const row = await database.db
    .selectFrom('interactions as i')
    .leftJoin('csat_responses as r', (j) =>
      j.onRef('r.customer_id', '=', 'i.customer_id').onRef('r.interaction_id', '=', 'i.id'),
    )
    .select(['i.customer_id', 'i.id', 'i.subject', 'i.status', 'r.score', 'r.comment'])
    .where('i.customer_id', '=', customerId)
    .where('i.id', '=', payload.subject)
    .executeTakeFirst();
  if (!row)
    throw new KizunaError('ticket_not_found', 'The ticket of this link no longer exists', { status: 404 });
  return {
    customerId: row.customer_id,
    ticketId: row.id,
    subject: row.subject,
    status: row.status,
    answered: row.score === null ? null : { score: row.score, comment: row.comment },
  };
}

/** Stores (or replaces) the answer given through a link; the agent is the ticket's assignee now. */
export async function recordCsat(
  database: Database,
  token: string,
  answer: CsatAnswer,
  now: Date = new Date(),
): Promise<{ ticketId: number; score: number; replaced: boolean }> {
  const ticket = await csatTicket(database, token, now);
  const owner = await database.db
    .selectFrom('interactions')
    .select('owner_staff_id')
    .where('customer_id', '=', ticket.customerId)
    .where('id', '=', ticket.ticketId)
    .executeTakeFirstOrThrow();
  const values = {
    score: answer.score,
    comment: answer.comment ? answer.comment : null,
    agent_staff_id: owner.owner_staff_id,
    answered_at: now,
  };
  await database.db
    .insertInto('csat_responses')
    .values({ customer_id: ticket.customerId, interaction_id: ticket.ticketId, ...values })
    .onConflict((oc) => oc.columns(['customer_id', 'interaction_id']).doUpdateSet(values))
    .execute();
  return { ticketId: ticket.ticketId, score: answer.score, replaced: ticket.answered !== null };
}

const escapeHtml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );

/** The tiny form behind the link (no script; posts back to the same address). */
export function csatFormHtml(ticket: CsatTicket, message?: string): string {
  const options = [1, 2, 3, 4, 5]
    .map(
      (n) =>
        `<label><input type="radio" name="score" value="${n}"${ticket.answered?.score === n ? ' checked' : ''} required> ${n}</label>`,
    )
    .join('\n      ');
  const subject = ticket.subject ? `「${escapeHtml(ticket.subject)}」` : `#${ticket.ticketId}`;
  return `<!doctype html>
<html lang="ja">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>ご満足度 / Satisfaction</title></head>
<body>
  <h1>ご対応はいかがでしたか? / How did we do?</h1>
  <p>${subject}</p>
  ${message ? `<p role="status">${escapeHtml(message)}</p>` : ''}
  <form method="post">
    <fieldset>
      <legend>1 = 不満 / poor … 5 = 満足 / very good</legend>
      ${options}
    </fieldset>
    <p><label>コメント / Comment<br><textarea name="comment" rows="4" cols="40" maxlength="2000">${escapeHtml(ticket.answered?.comment ?? '')}</textarea></label></p>
    <p><button type="submit">送信 / Send</button></p>
  </form>
</body>
</html>
`;
}
