import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer, type KizunaServer } from '../src/api/server.ts';
import { CLI_ACTOR } from '../src/auth/index.ts';
import { eraseCustomer } from '../src/customers/index.ts';
import type { Database } from '../src/db/index.ts';
import { configureReplyMailer, type ReplyMail } from '../src/service/tickets.ts';
import { signInAs, tokenHeaders } from './helpers/api.ts';
import { openTestDatabase } from './helpers/database.ts';

let database: Database;
let app: KizunaServer;
let storeA: number;
let storeB: number;
let customer: number;
let agent: { headers: Record<string, string>; staffId: number };
let marketer: Record<string, string>;
let staffB: Record<string, string>;
let integration: Record<string, string>;
const mailed: ReplyMail[] = [];

const fixture = (name: string) => readFileSync(new URL(`./fixtures/mail/${name}`, import.meta.url));

beforeAll(async () => {
  database = await openTestDatabase();
  const db = database.db;
  [storeA, storeB] = (
    await db
      .insertInto('stores')
      .values([
        { code: 'A', name: 'Store A' },
        { code: 'B', name: 'Store B' },
      ])
      .returning('id')
      .execute()
  ).map((r) => r.id) as [number, number];
  customer = (
    await db
      .insertInto('customers')
      .values({
        external_id: 'C-1',
        name: '佐藤 花子',
        email: 'hanako.sato@example.jp',
        home_store_id: storeA,
      })
      .returning('id')
      .executeTakeFirstOrThrow()
  ).id;
  app = buildServer(database);
  await app.ready();
  agent = await signInAs(app, database, 'service_agent', { storeIds: [storeA] });
  marketer = await tokenHeaders(database, 'marketer');
  staffB = await tokenHeaders(database, 'store_staff', { storeIds: [storeB] });
  integration = await tokenHeaders(database, 'service_agent');
  configureReplyMailer(async (mail) => {
    mailed.push(mail);
  });
});

afterAll(async () => {
  configureReplyMailer(undefined);
  await app?.close();
  await database?.close();
});

const send = (
  method: 'GET' | 'POST' | 'PATCH',
  url: string,
  headers: Record<string, string>,
  payload?: unknown,
) =>
  app.inject({
    method,
    url,
    headers,
    ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
  });

describe('tickets through the API', () => {
  let ticketId: number;

  it('opens a ticket for a customer: status new, the body as the customer’s first message', async () => {
    const response = await send('POST', `/api/customers/${customer}/tickets`, agent.headers, {
      kind: 'complaint',
      channel: 'email',
      priority: 'high',
      subject: '靴がきしむ',
      body: '歩くたびにきしみます。',
      storeId: storeA,
      attachments: [
        { name: 'photo.jpg', type: 'image/jpeg', size: 2048, url: 'https://files.example/p.jpg' },
      ],
    });
    expect(response.statusCode).toBe(201);
    const { ticket } = response.json();
    ticketId = ticket.id;
    expect(ticket).toMatchObject({
      status: 'new',
      priority: 'high',
      kind: 'complaint',
      firstResponseAt: null,
    });
    const shown = (await send('GET', `/api/tickets/${ticketId}`, agent.headers)).json();
    expect(shown.messages).toHaveLength(1);
    expect(shown.messages[0]).toMatchObject({
      kind: 'customer_message',
      body: '歩くたびにきしみます。',
      attachments: [
        { name: 'photo.jpg', type: 'image/jpeg', size: 2048, url: 'https://files.example/p.jpg' },
      ],
    });
    expect(shown.statusChanges.map((c: { toStatus: string }) => c.toStatus)).toEqual(['new']);
  });

  it('a note is not a response; the first public reply is, opens the ticket and is mailed in the thread', async () => {
    const note = await send('POST', `/api/tickets/${ticketId}/notes`, agent.headers, { body: '在庫確認中' });
    expect(note.statusCode).toBe(201);
    expect(note.json().ticket).toMatchObject({ status: 'new', firstResponseAt: null });
    expect(mailed).toHaveLength(0);

    const reply = await send('POST', `/api/tickets/${ticketId}/replies`, agent.headers, {
      body: '交換いたします。',
    });
    expect(reply.statusCode).toBe(201);
    const { ticket, message } = reply.json();
    expect(ticket.status).toBe('open');
    expect(ticket.firstResponseAt).toBe(message.createdAt);
    expect(message).toMatchObject({ kind: 'public_reply', delivery: 'sent', authorStaffId: agent.staffId });
    expect(mailed).toHaveLength(1);
    expect(mailed[0]).toMatchObject({ to: 'hanako.sato@example.jp', text: '交換いたします。' });
    expect(mailed[0]!.subject).toBe(`Re: 靴がきしむ [#${ticketId}]`);
    expect(mailed[0]!.messageId).toBe(message.messageId);

    // A second reply does not move the first response.
    const second = (
      await send('POST', `/api/tickets/${ticketId}/replies`, agent.headers, { body: '追記' })
    ).json();
    expect(second.ticket.firstResponseAt).toBe(ticket.firstResponseAt);
    expect(mailed[1]!.inReplyTo).toBe(message.messageId);
  });

  it('the customer’s e-mail reply threads into the ticket by In-Reply-To and reopens it from waiting', async () => {
    await send('PATCH', `/api/tickets/${ticketId}/status`, agent.headers, { status: 'waiting' });
    const ours = mailed[1]!.messageId;
    const raw = [
      'From: Hanako <HANAKO.SATO@example.jp>',
      'To: support@shop.example',
      `Subject: Re: 靴がきしむ [#${ticketId}]`,
      'Message-ID: <answer-1@example.jp>',
      `In-Reply-To: ${ours}`,
      `References: ${mailed[0]!.messageId} ${ours}`,
      'Content-Type: text/plain; charset=UTF-8',
      '',
      'よろしくお願いします。',
    ].join('\r\n');
    const response = await app.inject({
      method: 'POST',
      url: '/api/inbound/email',
      headers: { ...integration, 'content-type': 'message/rfc822' },
      payload: raw,
    });
    expect(response.statusCode).toBe(201);
    expect(response.json()).toMatchObject({
      outcome: 'threaded',
      ticketId,
      customerId: customer,
      customerCreated: false,
    });
    const shown = (await send('GET', `/api/tickets/${ticketId}`, agent.headers)).json();
    expect(shown.ticket.status).toBe('open');
    expect(shown.messages.at(-1)).toMatchObject({ kind: 'customer_message', body: 'よろしくお願いします。' });
    // The same message again is recognised and not stored twice.
    const again = await app.inject({
      method: 'POST',
      url: '/api/inbound/email',
      headers: { ...integration, 'content-type': 'message/rfc822' },
      payload: raw,
    });
    expect(again.statusCode).toBe(200);
    expect(again.json().outcome).toBe('duplicate');
  });

  it('refuses the inbound route without message/rfc822 and without interactions:write', async () => {
    const json = await send('POST', '/api/inbound/email', integration, { raw: 'x' });
    expect(json.statusCode).toBe(415);
    const refused = await app.inject({
      method: 'POST',
      url: '/api/inbound/email',
      headers: { ...marketer, 'content-type': 'message/rfc822' },
      payload: fixture('attachment.eml'),
    });
    expect(refused.statusCode).toBe(403);
  });

  it('hides complaint text from marketers, and the ticket from staff of other stores', async () => {
    const shown = await send('GET', `/api/tickets/${ticketId}`, marketer);
    expect(shown.statusCode).toBe(200);
    expect(shown.json().ticket).toMatchObject({ body: null, bodyRedacted: true, subject: '靴がきしむ' });
    expect(shown.json().messages.every((m: { body: string | null }) => m.body === null)).toBe(true);
    expect((await send('GET', `/api/tickets/${ticketId}`, staffB)).statusCode).toBe(403);
    expect((await send('GET', '/api/tickets', staffB)).json().tickets).toEqual([]);
    expect((await send('POST', `/api/tickets/${ticketId}/notes`, marketer, { body: 'x' })).statusCode).toBe(
      403,
    );
  });

  it('queues: mine, unassigned, all', async () => {
    const unassigned = (await send('GET', '/api/tickets?queue=unassigned', agent.headers)).json();
    expect(unassigned.tickets.map((t: { id: number }) => t.id)).toContain(ticketId);
    const assign = await send('PATCH', `/api/tickets/${ticketId}/assignment`, agent.headers, {
      assigneeStaffId: agent.staffId,
    });
    expect(assign.json().ticket.assigneeStaffId).toBe(agent.staffId);
    const mine = (await send('GET', '/api/tickets?queue=mine', agent.headers)).json();
    expect(mine.tickets.map((t: { id: number }) => t.id)).toEqual([ticketId]);
    const none = (await send('GET', '/api/tickets?queue=unassigned', agent.headers)).json();
    expect(none.tickets.map((t: { id: number }) => t.id)).not.toContain(ticketId);
    expect((await send('GET', '/api/tickets?queue=mine', integration)).statusCode).toBe(400);
  });

  it('resolving a complaint schedules its follow-up 14 days later and gives a satisfaction link', async () => {
    const response = await send('PATCH', `/api/tickets/${ticketId}/status`, agent.headers, {
      status: 'resolved',
    });
    expect(response.statusCode).toBe(200);
    const { ticket, csat } = response.json();
    expect(ticket.status).toBe('resolved');
    const resolvedAt = Date.parse(ticket.resolvedAt);
    expect(csat.url).toMatch(/\/s\/[^/]+$/);

    const notYet = (await send('GET', '/api/follow-ups?assignee=mine', agent.headers)).json();
    expect(notYet.followUps).toEqual([]);
    const dueBy = new Date(resolvedAt + 14 * 86_400_000).toISOString();
    const due = (
      await send('GET', `/api/follow-ups?assignee=mine&dueBy=${encodeURIComponent(dueBy)}`, agent.headers)
    ).json();
    expect(due.followUps).toHaveLength(1);
    expect(due.followUps[0]).toMatchObject({
      ticketId,
      customerId: customer,
      prompt: 'Last time: 「靴がきしむ」 — how is it now?',
      dueAt: new Date(resolvedAt + 14 * 86_400_000).toISOString(),
    });

    // The satisfaction form, answered twice: the second answer replaces the first.
    const token = csat.url.split('/s/')[1];
    const form = await app.inject({ method: 'GET', url: `/s/${token}` });
    expect(form.statusCode).toBe(200);
    expect(form.headers['content-type']).toContain('text/html');
    expect(form.body).toContain('靴がきしむ');
    const first = await app.inject({
      method: 'POST',
      url: `/s/${token}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'score=2&comment=%E9%81%85%E3%81%84',
    });
    expect(first.statusCode).toBe(200);
    expect(first.body).toContain('Thank you');
    const second = await app.inject({ method: 'POST', url: `/s/${token}`, payload: { score: 5 } });
    expect(second.json()).toEqual({ ticketId, score: 5, replaced: true });
    const rows = await database.db.selectFrom('csat_responses').selectAll().execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ score: 5, comment: null, agent_staff_id: agent.staffId });
    expect((await app.inject({ method: 'POST', url: `/s/${token}`, payload: { score: 6 } })).statusCode).toBe(
      400,
    );
    expect((await app.inject({ method: 'GET', url: `/s/${token}x` })).statusCode).toBe(400);

    // Answer the follow-up once; a second answer is refused.
    const followUpId = due.followUps[0].id;
    const answered = await send('POST', `/api/follow-ups/${followUpId}/answer`, agent.headers, {
      answer: 'もうきしまない',
    });
    expect(answered.json().followUp).toMatchObject({ state: 'done', answer: 'もうきしまない' });
    expect(
      (await send('POST', `/api/follow-ups/${followUpId}/answer`, agent.headers, { answer: 'x' })).statusCode,
    ).toBe(409);
  });

  it('reopening cancels the waiting follow-up; resolving again schedules one', async () => {
    await send('PATCH', `/api/tickets/${ticketId}/status`, agent.headers, { status: 'open' });
    await send('PATCH', `/api/tickets/${ticketId}/status`, agent.headers, { status: 'resolved' });
    await send('PATCH', `/api/tickets/${ticketId}/status`, agent.headers, { status: 'open' });
    const states = await database.db
      .selectFrom('follow_ups')
      .select('state')
      .where('interaction_id', '=', ticketId)
      .orderBy('id')
      .execute();
    expect(states.map((s) => s.state)).toEqual(['done', 'cancelled']);
    expect(
      (await send('PATCH', `/api/tickets/${ticketId}/status`, agent.headers, { status: 'new' })).statusCode,
    ).toBe(400);
  });

  it('the public web form matches the customer by e-mail (any case) or creates one', async () => {
    const known = await app.inject({
      method: 'POST',
      url: '/api/forms/ticket',
      payload: { email: 'Hanako.Sato@Example.JP', subject: '営業時間', body: '年末の営業時間は?' },
    });
    expect(known.statusCode).toBe(201);
    expect(Object.keys(known.json())).toEqual(['ticketId']);
    const row = await database.db
      .selectFrom('interactions')
      .select(['customer_id', 'channel', 'status'])
      .where('id', '=', known.json().ticketId)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ customer_id: customer, channel: 'web', status: 'new' });
    const stranger = await app.inject({
      method: 'POST',
      url: '/api/forms/ticket',
      payload: { email: 'new.person@example.com', name: '新規 太郎', subject: '質問', body: '?' },
    });
    const created = await database.db
      .selectFrom('interactions as i')
      .innerJoin('customers as c', 'c.id', 'i.customer_id')
      .select(['c.email', 'c.name', 'c.acquisition_source'])
      .where('i.id', '=', stranger.json().ticketId)
      .executeTakeFirstOrThrow();
    expect(created).toEqual({
      email: 'new.person@example.com',
      name: '新規 太郎',
      acquisition_source: 'web form',
    });
    const bad = await app.inject({
      method: 'POST',
      url: '/api/forms/ticket',
      payload: { email: 'x', subject: 's', body: 'b' },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.field).toBe('email');
  });

  it('teams: created with service:manage only, and the team queue', async () => {
    const refused = await send('POST', '/api/teams', agent.headers, { name: 'Desk' });
    expect(refused.statusCode).toBe(403);
    const owner = await tokenHeaders(database, 'owner');
    const team = (await send('POST', '/api/teams', owner, { name: 'Desk', staffIds: [agent.staffId] })).json()
      .team;
    expect(team).toMatchObject({ name: 'Desk', staffIds: [agent.staffId] });
    const opened = (
      await send('POST', `/api/customers/${customer}/tickets`, agent.headers, {
        kind: 'request',
        channel: 'phone',
        subject: '取り寄せ',
        teamId: team.id,
      })
    ).json().ticket;
    const queue = (await send('GET', '/api/tickets?queue=team', agent.headers)).json();
    expect(queue.tickets.map((t: { id: number }) => t.id)).toEqual([opened.id]);
  });

  it('breaching soon: a ticket left without a reply for weeks is breached and listed; a fresh one is not', async () => {
    const old = (
      await send('POST', `/api/customers/${customer}/tickets`, agent.headers, {
        kind: 'inquiry',
        channel: 'email',
        priority: 'urgent',
        subject: '放置',
        openedAt: new Date(Date.now() - 30 * 86_400_000).toISOString(),
      })
    ).json().ticket;
    const fresh = (
      await send('POST', `/api/customers/${customer}/tickets`, agent.headers, {
        kind: 'inquiry',
        channel: 'email',
        priority: 'low',
        subject: '新着',
      })
    ).json().ticket;
    const response = await send('GET', '/api/tickets/breaching', agent.headers);
    expect(response.statusCode).toBe(200);
    const ids = response.json().tickets.map((t: { id: number }) => t.id);
    expect(ids).toContain(old.id);
    expect(ids).not.toContain(fresh.id);
    const listed = response.json().tickets.find((t: { id: number }) => t.id === old.id);
    expect(listed.sla.worst).toBe('breached');
    expect(listed.sla.firstResponse.state).toBe('breached');
    expect(Date.parse(listed.dueAt)).toBeLessThan(Date.now());
    const shown = (await send('GET', `/api/tickets/${fresh.id}`, agent.headers)).json();
    expect(shown.sla.firstResponse.state).toBe('running');
  });

  it('queues name each ticket’s customer (no request per row); an erased customer is named by nobody', async () => {
    const db = database.db;
    const [named, erased] = (
      await db
        .insertInto('customers')
        .values([
          { external_id: 'C-NAMED', name: '田中 一郎', home_store_id: storeA },
          { external_id: 'C-ERASED', name: '山田 太郎', home_store_id: storeA },
        ])
        .returning('id')
        .execute()
    ).map((r) => r.id) as [number, number];
    const open = async (customerId: number, subject: string) =>
      (
        await send('POST', `/api/customers/${customerId}/tickets`, agent.headers, {
          kind: 'inquiry',
          channel: 'phone',
          priority: 'urgent',
          subject,
          openedAt: new Date(Date.now() - 30 * 86_400_000).toISOString(),
        })
      ).json().ticket as { id: number };
    const namedTicket = await open(named, '名前あり');
    const erasedTicket = await open(erased, '消去される');
    await eraseCustomer(database, CLI_ACTOR, erased, 'asked to be forgotten');

    type Row = { id: number; customerId: number; customerName: string | null };
    const list = await send('GET', '/api/tickets?queue=all&limit=200', agent.headers);
    expect(list.statusCode).toBe(200);
    const rows = new Map(list.json().tickets.map((t: Row) => [t.id, t]));
    expect(rows.get(namedTicket.id)).toMatchObject({ customerId: named, customerName: '田中 一郎' });
    expect(rows.get(erasedTicket.id)).toMatchObject({ customerId: erased, customerName: null });
    expect(rows.get(ticketId)).toMatchObject({ customerName: '佐藤 花子' });
    // Breaching soon is the same list with SLA states: the same names.
    const breaching = new Map(
      (await send('GET', '/api/tickets/breaching', agent.headers)).json().tickets.map((t: Row) => [t.id, t]),
    );
    expect(breaching.get(namedTicket.id)).toMatchObject({ customerName: '田中 一郎' });
    expect(breaching.get(erasedTicket.id)).toMatchObject({ customerName: null });
    // Store scope is unchanged: staff of another store see none of these tickets, names or not.
    expect((await send('GET', '/api/tickets?queue=all', staffB)).json().tickets).toEqual([]);
  });

  it('measures and the retention report need reports:read; parameters are checked', async () => {
    const manager = await tokenHeaders(database, 'manager');
    const url = '/api/service/measures?from=2020-01-01&to=2100-01-01&by=agent';
    expect((await send('GET', url, agent.headers)).statusCode).toBe(403);
    const measures = await send('GET', url, manager);
    expect(measures.statusCode).toBe(200);
    expect(measures.json().total.tickets).toBeGreaterThan(0);
    expect(measures.json().total.csat).toMatchObject({ responses: 1, mean: 5 });
    const report = await send(
      'GET',
      '/api/service/retention-report?from=2020-01-01&to=2100-01-01&channels=email,web',
      manager,
    );
    expect(report.statusCode).toBe(200);
    expect(report.json().buckets).toHaveLength(5);
    const bad = await send(
      'GET',
      '/api/service/retention-report?from=2020-01-01&to=2100-01-01&channels=fax',
      manager,
    );
    expect(bad.statusCode).toBe(400);
  });
});
