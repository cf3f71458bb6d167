import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_ACTOR } from '../src/auth/index.ts';
import { eraseCustomer } from '../src/customers/index.ts';
import type { Database } from '../src/db/index.ts';
import { receiveEmail } from '../src/service/inbound-mail.ts';
import { listTicketMessages } from '../src/service/tickets.ts';
import { openTestDatabase } from './helpers/database.ts';

const fixture = (name: string) => readFile(join(import.meta.dirname, 'fixtures', 'mail', name));

describe('inbound e-mail on real-world-shaped messages', () => {
  let database: Database;
  let hanako: number;
  let dir: string;
  beforeAll(async () => {
    database = await openTestDatabase();
    dir = await mkdtemp(join(tmpdir(), 'kizuna-mail-'));
    hanako = (
      await database.db
        .insertInto('customers')
        .values({ name: '佐藤 花子', email: 'hanako.sato@example.jp' })
        .returning('id')
        .executeTakeFirstOrThrow()
    ).id;
    // A merged-away record with the same address must not be chosen.
    await database.db
      .insertInto('customers')
      .values({ name: 'old', email: 'HANAKO.SATO@example.jp', merged_into_customer_id: hanako })
      .execute();
  });
  afterAll(async () => {
    await database?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const messages = (customerId: number, ticketId: number) =>
    listTicketMessages(database, CLI_ACTOR, customerId, ticketId);

  it('UTF-8 encoded-word subject, multipart/alternative, quoted-printable: the text part, matched by address in any case', async () => {
    const result = await receiveEmail(database, CLI_ACTOR, await fixture('utf8-multipart-qp.eml'));
    expect(result).toMatchObject({ outcome: 'opened', customerId: hanako, customerCreated: false });
    expect(result.messageId).toBe('<CAF1234.abcd@mail.example.jp>');
    expect(result.ticket).toMatchObject({
      subject: '靴がきしむ件について',
      channel: 'email',
      kind: 'inquiry',
      status: 'new',
    });
    expect(result.ticket!.openedAt.toISOString()).toBe('2024-06-03T01:15:00.000Z');
    const [message] = await messages(hanako, result.ticketId);
    expect(message!.body).toBe(
      '山田様\n\n先日購入した革靴が歩くたびにきしみます。交換か修理はできますか。\n\n--\n佐藤 花子',
    );
    expect(message!.fromAddress).toBe('hanako.sato@example.jp');
  });

  it('a reply threads to the ticket by In-Reply-To (base64 UTF-8 body)', async () => {
    const [opened] = await database.db
      .selectFrom('ticket_messages')
      .select(['interaction_id'])
      .where('message_id', '=', '<CAF1234.abcd@mail.example.jp>')
      .execute();
    const result = await receiveEmail(database, CLI_ACTOR, await fixture('reply-threaded.eml'));
    expect(result).toMatchObject({
      outcome: 'threaded',
      customerId: hanako,
      ticketId: opened!.interaction_id,
    });
    const thread = await messages(hanako, result.ticketId);
    expect(thread.map((m) => m.body)).toEqual([
      expect.stringContaining('きしみます'),
      'ありがとうございます。土曜日に店舗へ持っていきます。',
    ]);
    expect(thread[1]!.inReplyTo).toBe('<CAF1234.abcd@mail.example.jp>');
  });

  it('ISO-2022-JP subject and body; an unknown sender becomes a customer with source email and their name', async () => {
    const result = await receiveEmail(database, CLI_ACTOR, await fixture('iso-2022-jp.eml'));
    expect(result).toMatchObject({ outcome: 'opened', customerCreated: true });
    expect(result.ticket!.subject).toBe('ワインの液漏れ');
    const [message] = await messages(result.customerId, result.ticketId);
    expect(message!.body).toBe(
      'お世話になっております。\nワインの箱が濡れていて、コルクから液漏れしていました。\n交換をお願いできますか。',
    );
    const created = await database.db
      .selectFrom('customers')
      .select(['name', 'email', 'acquisition_source'])
      .where('id', '=', result.customerId)
      .executeTakeFirstOrThrow();
    expect(created).toEqual({
      name: '鈴木 一郎',
      email: 'ichiro.suzuki@example.ne.jp',
      acquisition_source: 'email',
    });
  });

  it('HTML-only Shift_JIS message: the HTML as text; sender matched despite the upper-case domain', async () => {
    const result = await receiveEmail(database, CLI_ACTOR, await fixture('html-only-sjis.eml'));
    expect(result).toMatchObject({ outcome: 'opened', customerId: hanako });
    expect(result.ticket!.subject).toBe('ポイントについて');
    const [message] = await messages(hanako, result.ticketId);
    expect(message!.body).toBe('ポイントの有効期限を教えてください。\n会員番号: 12345');
  });

  it('an attachment is kept as a reference (RFC 2231 Japanese file name), its content written to the folder', async () => {
    const result = await receiveEmail(database, CLI_ACTOR, await fixture('attachment.eml'), {
      attachmentDir: dir,
    });
    const [message] = await messages(result.customerId, result.ticketId);
    expect(message!.attachments).toHaveLength(1);
    const [ref] = message!.attachments;
    expect(ref).toMatchObject({ name: '壊れた写真.jpg', type: 'image/jpeg', size: 212 });
    const stored = await readFile(ref!.url!);
    expect(stored.length).toBe(212);
    expect([...stored.subarray(0, 4)]).toEqual([0xff, 0xd8, 0xff, 0xe0]);
    expect(message!.body).toBe('The right side of the headphones I bought stopped working. Photo attached.');
  });

  it('the same Message-ID again is a duplicate; an unknown sender can be refused', async () => {
    const again = await receiveEmail(database, CLI_ACTOR, await fixture('attachment.eml'));
    expect(again.outcome).toBe('duplicate');
    const count = await database.db
      .selectFrom('ticket_messages')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('message_id', '=', '<a1b2c3d4@example.com>')
      .executeTakeFirstOrThrow();
    expect(Number(count.n)).toBe(1);
    const stranger = 'From: nobody@example.org\r\nSubject: hi\r\nMessage-ID: <x-1@example.org>\r\n\r\nhello';
    await expect(
      receiveEmail(database, CLI_ACTOR, stranger, { unknownSender: 'refuse' }),
    ).rejects.toMatchObject({
      code: 'unknown_sender',
      status: 422,
    });
    await expect(receiveEmail(database, CLI_ACTOR, 'Subject: no sender\r\n\r\nx')).rejects.toMatchObject({
      code: 'mail_without_sender',
    });
  });

  it('a reply to a closed ticket opens a new ticket', async () => {
    const first = await receiveEmail(
      database,
      CLI_ACTOR,
      'From: hanako.sato@example.jp\r\nSubject: A\r\nMessage-ID: <c-1@example.jp>\r\n\r\none',
    );
    await database.db
      .updateTable('interactions')
      .set({ status: 'closed' })
      .where('id', '=', first.ticketId)
      .execute();
    const second = await receiveEmail(
      database,
      CLI_ACTOR,
      'From: hanako.sato@example.jp\r\nSubject: Re: A\r\nMessage-ID: <c-2@example.jp>\r\nIn-Reply-To: <c-1@example.jp>\r\n\r\ntwo',
    );
    expect(second.outcome).toBe('opened');
    expect(second.ticketId).not.toBe(first.ticketId);
  });

  it('erasing the customer blanks their mails, follow-up answers and satisfaction comments', async () => {
    const mailed = await receiveEmail(
      database,
      CLI_ACTOR,
      'From: Erika <erika@example.jp>\r\nSubject: 住所変更\r\nMessage-ID: <e-1@example.jp>\r\n\r\n東京都港区1-2-3に引っ越しました',
    );
    const customerId = mailed.customerId;
    await database.db
      .insertInto('csat_responses')
      .values({ customer_id: customerId, interaction_id: mailed.ticketId, score: 4, comment: 'エリカより' })
      .execute();
    await database.db
      .insertInto('follow_ups')
      .values({
        customer_id: customerId,
        interaction_id: mailed.ticketId,
        due_at: new Date(),
        prompt: 'Last time: 「住所変更」 — how is it now?',
        state: 'done',
        answer: '新居は快適',
      })
      .execute();
    await eraseCustomer(database, CLI_ACTOR, customerId, 'customer asked');
    const text = JSON.stringify([
      await database.db
        .selectFrom('ticket_messages')
        .selectAll()
        .where('customer_id', '=', customerId)
        .execute(),
      await database.db.selectFrom('follow_ups').selectAll().where('customer_id', '=', customerId).execute(),
      await database.db
        .selectFrom('csat_responses')
        .selectAll()
        .where('customer_id', '=', customerId)
        .execute(),
      await database.db
        .selectFrom('interactions')
        .selectAll()
        .where('customer_id', '=', customerId)
        .execute(),
    ]);
    for (const personal of ['erika@example.jp', '港区', '住所変更', '新居', 'エリカ'])
      expect(text).not.toContain(personal);
    const score = await database.db
      .selectFrom('csat_responses')
      .select('score')
      .where('customer_id', '=', customerId)
      .executeTakeFirstOrThrow();
    expect(score.score).toBe(4);
  });
});
