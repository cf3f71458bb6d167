import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_ACTOR } from '../src/auth/index.ts';
import type { MailCatcher } from '../src/campaigns/mail-catcher.ts';
import type { Database } from '../src/db/index.ts';
import { receiveEmail } from '../src/service/inbound-mail.ts';
import { configureReplyMailer, openTicket, replyToTicket } from '../src/service/tickets.ts';
import { openTestDatabase } from './helpers/database.ts';
import { catchSmtp, type SmtpCatcher } from './helpers/smtp.ts';

/** Public replies go out through SMTP_URL (nodemailer) to a local SMTP server, and the answer threads back. */
describe('replies by e-mail', () => {
  let database: Database;
  let catcher: MailCatcher;
  let smtp: SmtpCatcher;
  let customer: number;
  beforeAll(async () => {
    database = await openTestDatabase();
    smtp = await catchSmtp();
    catcher = smtp.catcher;
    configureReplyMailer(undefined);
    customer = (
      await database.db
        .insertInto('customers')
        .values({ name: '佐藤', email: 'sato@example.jp' })
        .returning('id')
        .executeTakeFirstOrThrow()
    ).id;
  });
  afterAll(async () => {
    await smtp?.close();
    await database?.close();
  });

  it('sends the reply in the thread, and the customer’s answer to it threads back', async () => {
    const ticket = await openTicket(database, CLI_ACTOR, customer, {
      kind: 'inquiry',
      channel: 'email',
      subject: '在庫の確認',
      body: 'まだありますか',
    });
    const { message } = await replyToTicket(database, CLI_ACTOR, customer, ticket.id, {
      body: 'ございます。',
    });
    expect(message.delivery).toBe('sent');
    const [mail] = await catcher.list();
    expect(mail).toMatchObject({
      to: 'sato@example.jp',
      subject: `Re: 在庫の確認 [#${ticket.id}]`,
      messageId: message.messageId,
    });
    expect(mail!.text.trim()).toBe('ございます。');

    const answer = [
      'From: sato@example.jp',
      'Subject: Re: 在庫の確認',
      'Message-ID: <answer-9@example.jp>',
      `In-Reply-To: ${message.messageId}`,
      '',
      '取り置きをお願いします',
    ].join('\r\n');
    const back = await receiveEmail(database, CLI_ACTOR, answer);
    expect(back).toMatchObject({ outcome: 'threaded', ticketId: ticket.id });
  });

  it('records a refused delivery on the message and keeps the reply', async () => {
    const ticket = await openTicket(database, CLI_ACTOR, customer, {
      kind: 'inquiry',
      channel: 'web',
      subject: 'x',
    });
    catcher.rejectNext(1, 550);
    const { message, ticket: after } = await replyToTicket(database, CLI_ACTOR, customer, ticket.id, {
      body: 'y',
    });
    expect(message.delivery).toBe('failed');
    expect(message.deliveryError).toMatch(/550/);
    expect(after.firstResponseAt).not.toBeNull();
  });
});
