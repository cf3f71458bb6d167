import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../src/api/index.ts';
import type { Database } from '../src/db/index.ts';
import { SimulatedClock, tick } from '../src/flows/index.ts';
import { flowUnsubscribeUrl } from '../src/flows/mailer.ts';
import { loadCustomers } from './campaigns-fixture.ts';
import { recordingMailer } from './flows-fixture.ts';
import { tokenHeaders } from './helpers/api.ts';
import { openTestDatabase } from './helpers/database.ts';

describe('flows API', () => {
  let database: Database;
  let app: ReturnType<typeof buildServer>;
  let owner: Record<string, string>;
  let flowId: number;

  beforeAll(async () => {
    database = await openTestDatabase();
    app = buildServer(database);
    owner = await tokenHeaders(database, 'owner');
    await loadCustomers(database, [
      { id: 1, name: 'Eri', consents: { email: true } },
      { id: 2, name: 'Goro', consents: { email: true } },
    ]);
  });
  afterAll(async () => {
    await app.close();
    await database.close();
  });

  const definition = {
    trigger: { type: 'event', name: 'attended_signing' },
    goal: { kind: 'purchase', windowDays: 30 },
    steps: [{ kind: 'send', subject: 'Thanks for coming', bodyText: 'Hello {{ customer.name }}' }],
  };

  it('creates a flow, and names the field of a mistake', async () => {
    const bad = await app.inject({
      method: 'POST',
      url: '/api/flows',
      headers: owner,
      payload: { name: 'Bad', definition: { ...definition, steps: [{ kind: 'wait' }] } },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.field).toBe('definition.steps.0.days');
    const created = await app.inject({
      method: 'POST',
      url: '/api/flows',
      headers: owner,
      payload: { name: 'Signing thanks', definition },
    });
    expect(created.statusCode).toBe(201);
    flowId = created.json().id;
    expect(created.json()).toMatchObject({ name: 'Signing thanks', enabled: false, currentVersion: 1 });
    const again = await app.inject({
      method: 'POST',
      url: '/api/flows',
      headers: owner,
      payload: { name: 'Signing thanks', definition },
    });
    expect(again.statusCode).toBe(409);
  });

  it('a changed definition is a new version; the flow lists its versions', async () => {
    const patched = await app.inject({
      method: 'PATCH',
      url: `/api/flows/${flowId}`,
      headers: owner,
      payload: { definition: { ...definition, holdoutShare: 0.1 } },
    });
    expect(patched.statusCode).toBe(200);
    expect(patched.json().currentVersion).toBe(2);
    const shown = await app.inject({ method: 'GET', url: `/api/flows/${flowId}`, headers: owner });
    expect(shown.json().versions.map((v: { version: number }) => v.version)).toEqual([2, 1]);
  });

  it('switches on, takes a custom event, and reports', async () => {
    const on = await app.inject({ method: 'POST', url: `/api/flows/${flowId}/enable`, headers: owner });
    expect(on.json().enabled).toBe(true);
    const occurredAt = new Date(Date.now() + 1000).toISOString();
    const event = await app.inject({
      method: 'POST',
      url: '/api/events',
      headers: owner,
      payload: { customerId: 1, name: 'attended_signing', data: { author: 'Murakami' }, occurredAt },
    });
    expect(event.statusCode).toBe(201);
    const unknown = await app.inject({
      method: 'POST',
      url: '/api/events',
      headers: owner,
      payload: { customerId: 999, name: 'attended_signing' },
    });
    expect([unknown.statusCode, unknown.json().error.field]).toEqual([404, 'customerId']);
    const clock = new SimulatedClock(new Date(Date.now() + 60_000));
    const mailer = recordingMailer();
    await tick(database, { clock, mailer });
    const report = await app.inject({ method: 'GET', url: `/api/flows/${flowId}/report`, headers: owner });
    expect(report.statusCode).toBe(200);
    const body = report.json();
    // Customer 1 is either in the flow (one mail) or in the 10 % holdout (none): both are counted.
    expect(body.entered + body.heldOut).toBe(1);
    expect(mailer.sent).toHaveLength(body.entered);
    expect(body.steps.filter((s: { version: number }) => s.version === 2)).toHaveLength(1);
  });

  it('lists and switches on a built-in flow', async () => {
    const list = await app.inject({ method: 'GET', url: '/api/flows/builtin', headers: owner });
    expect(list.json().builtin.map((b: { key: string }) => b.key)).toEqual([
      'welcome',
      'repeat_cycle',
      'win_back',
      'loyal_welcome',
      'post_complaint',
    ]);
    const on = await app.inject({ method: 'POST', url: '/api/flows/builtin/welcome/enable', headers: owner });
    expect(on.json()).toMatchObject({ builtin: 'welcome', enabled: true, name: 'Welcome series' });
    const missing = await app.inject({
      method: 'POST',
      url: '/api/flows/builtin/nope/enable',
      headers: owner,
    });
    expect(missing.statusCode).toBe(404);
  });

  it('refuses roles without the permission', async () => {
    const staff = await tokenHeaders(database, 'store_staff');
    const create = await app.inject({
      method: 'POST',
      url: '/api/flows',
      headers: staff,
      payload: { name: 'Nope', definition },
    });
    expect(create.statusCode).toBe(403);
    const agent = await tokenHeaders(database, 'service_agent');
    const enable = await app.inject({ method: 'POST', url: `/api/flows/${flowId}/enable`, headers: agent });
    expect(enable.statusCode).toBe(403);
  });

  it('lists flow tasks for the caller’s stores and marks one done with its outcome', async () => {
    const taskFlow = await app.inject({
      method: 'POST',
      url: '/api/flows',
      headers: owner,
      payload: {
        name: 'Call after the fair',
        definition: {
          trigger: { type: 'event', name: 'fair' },
          steps: [{ kind: 'task', title: 'Call to thank', prompt: 'Not a sales call', dueDays: 1 }],
        },
      },
    });
    const id = taskFlow.json().id;
    await app.inject({ method: 'POST', url: `/api/flows/${id}/enable`, headers: owner });
    await app.inject({
      method: 'POST',
      url: '/api/events',
      headers: owner,
      payload: { customerId: 2, name: 'fair', occurredAt: new Date(Date.now() + 1000).toISOString() },
    });
    await tick(database, {
      clock: new SimulatedClock(new Date(Date.now() + 60_000)),
      mailer: recordingMailer(),
    });
    const listed = await app.inject({ method: 'GET', url: '/api/flow-tasks', headers: owner });
    expect(
      listed.json().tasks.map((t: { customerId: number; title: string }) => [t.customerId, t.title]),
    ).toEqual([[2, 'Call to thank']]);
    const store = await database.db
      .insertInto('stores')
      .values({ code: 'OTHER', name: 'Other store' })
      .returning('id')
      .executeTakeFirstOrThrow();
    const elsewhere = await tokenHeaders(database, 'store_staff', { storeIds: [Number(store.id)] });
    const hidden = await app.inject({ method: 'GET', url: '/api/flow-tasks', headers: elsewhere });
    expect(hidden.json().tasks).toEqual([]);
    const taskId = listed.json().tasks[0].id;
    const refused = await app.inject({
      method: 'POST',
      url: `/api/flow-tasks/${taskId}/done`,
      headers: elsewhere,
      payload: { outcome: 'x' },
    });
    expect(refused.statusCode).toBe(404);
    const done = await app.inject({
      method: 'POST',
      url: `/api/flow-tasks/${taskId}/done`,
      headers: owner,
      payload: { outcome: 'Happy with the signed copy' },
    });
    expect(done.statusCode).toBe(200);
    expect(done.json()).toMatchObject({ state: 'done', outcome: 'Happy with the signed copy' });
    const again = await app.inject({
      method: 'POST',
      url: `/api/flow-tasks/${taskId}/done`,
      headers: owner,
      payload: { outcome: 'again' },
    });
    expect(again.statusCode).toBe(409);
  });

  it('the unsubscribe link of a step mail records the opt-out, and the next step mail is suppressed', async () => {
    const flow = await app.inject({
      method: 'POST',
      url: '/api/flows',
      headers: owner,
      payload: {
        name: 'Two mails',
        definition: {
          trigger: { type: 'event', name: 'two' },
          steps: [
            { kind: 'send', subject: 'First', bodyText: 'one' },
            { kind: 'wait', days: 1 },
            { kind: 'send', subject: 'Second', bodyText: 'two' },
          ],
        },
      },
    });
    const id = flow.json().id;
    await app.inject({ method: 'POST', url: `/api/flows/${id}/enable`, headers: owner });
    await app.inject({
      method: 'POST',
      url: '/api/events',
      headers: owner,
      payload: { customerId: 1, name: 'two', occurredAt: new Date(Date.now() + 1000).toISOString() },
    });
    const clock = new SimulatedClock(new Date(Date.now() + 60_000));
    const mailer = recordingMailer();
    await tick(database, { clock, mailer });
    expect(mailer.sent.map((m) => m.step.subject)).toEqual(['First']);
    const link = await flowUnsubscribeUrl(database, id, 1);
    const path = new URL(link).pathname;
    const posted = await app.inject({
      method: 'POST',
      url: path,
      payload: 'List-Unsubscribe=One-Click',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(posted.statusCode).toBe(200);
    clock.advance({ days: 2 });
    await tick(database, { clock, mailer });
    expect(mailer.sent.map((m) => m.step.subject)).toEqual(['First']);
    const events = await database.db
      .selectFrom('flow_step_events')
      .select(['step_index', 'outcome', 'reason'])
      .where('flow_id', '=', id)
      .where('kind', '=', 'send')
      .orderBy('id')
      .execute();
    expect(events).toEqual([
      { step_index: 0, outcome: 'sent', reason: null },
      { step_index: 2, outcome: 'suppressed', reason: 'no_consent:email' },
    ]);
  });
});
