import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer, type KizunaServer } from '../../src/api/server.ts';
import { CLI_ACTOR } from '../../src/auth/index.ts';
import type { Database } from '../../src/db/index.ts';
import { openTicket, replyToTicket, setTicketStatus } from '../../src/service/tickets.ts';
import { signInAs } from '../helpers/api.ts';
import { openTestDatabase } from '../helpers/database.ts';

/**
 * Scenario 9 (SCENARIOS.md): a customer complained about a squeaky shoe; the ticket is resolved → 14 days
 * later a follow-up task appears; at the next store visit the 360 shows "last time: squeaky shoe — how is
 * it now?"; the answer is recorded. The complaint and its resolution happened 15 days ago (written with
 * their times through the service layer); everything after is through the API, now.
 */
describe('scenario 9: last time you had this problem', () => {
  let database: Database;
  let app: KizunaServer;
  let customer: number;
  let store: number;
  beforeAll(async () => {
    database = await openTestDatabase();
    store = (
      await database.db
        .insertInto('stores')
        .values({ code: 'SHIBUYA', name: '渋谷店' })
        .returning('id')
        .executeTakeFirstOrThrow()
    ).id;
    customer = (
      await database.db
        .insertInto('customers')
        .values({ name: '佐藤 花子', email: 'hanako@example.jp', home_store_id: store })
        .returning('id')
        .executeTakeFirstOrThrow()
    ).id;
    app = buildServer(database);
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    await database?.close();
  });

  it('schedules the follow-up, shows it to the agent and in the 360 at the store, and records the answer', async () => {
    const agent = await signInAs(app, database, 'service_agent', { code: 'agent-ito' });
    const clerk = await signInAs(app, database, 'store_staff', { storeIds: [store] });
    const day = 86_400_000;
    const opened = new Date(Date.now() - 17 * day);
    const resolved = new Date(Date.now() - 15 * day);
    const agentActor = { ...CLI_ACTOR, kind: 'staff' as const, staffId: agent.staffId, name: 'Ito' };
    const complaint = await openTicket(database, agentActor, customer, {
      kind: 'complaint',
      channel: 'store',
      subject: '靴がきしむ',
      body: '先日買った革靴が歩くたびにきしみます。',
      storeId: store,
      assigneeStaffId: agent.staffId,
      openedAt: opened,
    });
    await replyToTicket(
      database,
      agentActor,
      customer,
      complaint.id,
      { body: '交換しました。' },
      new Date(opened.getTime() + 3_600_000),
    );
    await setTicketStatus(database, agentActor, customer, complaint.id, 'resolved', resolved);

    // 14 days after the resolution the follow-up is due, in the agent's queue…
    const queue = await app.inject({
      method: 'GET',
      url: '/api/follow-ups?assignee=mine',
      headers: agent.headers,
    });
    expect(queue.statusCode).toBe(200);
    const [task] = queue.json().followUps;
    expect(task).toMatchObject({
      ticketId: complaint.id,
      customerId: customer,
      prompt: 'Last time: 「靴がきしむ」 — how is it now?',
      dueAt: new Date(resolved.getTime() + 14 * day).toISOString(),
    });

    // …and on the customer's 360 when they visit the store.
    const page = await app.inject({
      method: 'GET',
      url: `/api/customers/${customer}/360`,
      headers: clerk.headers,
    });
    expect(page.statusCode).toBe(200);
    expect(page.json().due_follow_ups).toEqual([
      {
        id: task.id,
        interaction_id: complaint.id,
        due_at: task.dueAt,
        prompt: 'Last time: 「靴がきしむ」 — how is it now?',
        assignee_staff_id: agent.staffId,
      },
    ]);

    // The clerk asks and records the answer; the task is done and leaves the 360 and the queue.
    const answer = await app.inject({
      method: 'POST',
      url: `/api/follow-ups/${task.id}/answer`,
      headers: clerk.headers,
      payload: { answer: '新しい靴は快適、もうきしまない' },
    });
    expect(answer.statusCode).toBe(200);
    expect(answer.json().followUp).toMatchObject({ state: 'done', answer: '新しい靴は快適、もうきしまない' });
    const stored = await database.db
      .selectFrom('follow_ups')
      .select(['answer', 'answered_by_staff_id', 'state'])
      .where('id', '=', task.id)
      .executeTakeFirstOrThrow();
    expect(stored).toEqual({
      answer: '新しい靴は快適、もうきしまない',
      answered_by_staff_id: clerk.staffId,
      state: 'done',
    });
    const after = await app.inject({
      method: 'GET',
      url: `/api/customers/${customer}/360`,
      headers: clerk.headers,
    });
    expect(after.json().due_follow_ups).toEqual([]);
    const empty = await app.inject({
      method: 'GET',
      url: '/api/follow-ups?assignee=mine',
      headers: agent.headers,
    });
    expect(empty.json().followUps).toEqual([]);
  });
});
