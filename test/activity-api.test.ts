import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer, type KizunaServer } from '../src/api/server.ts';
import type { Database } from '../src/db/index.ts';
import { tokenHeaders } from './helpers/api.ts';
import { openTestDatabase } from './helpers/database.ts';

let database: Database;
let app: KizunaServer;
let storeA: number;
let storeB: number;
let customer: number;
let manager: Record<string, string>;
let marketer: Record<string, string>;
let agent: Record<string, string>;
let staffB: Record<string, string>;

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
      .values({ external_id: 'C-1', name: '山田 花子', home_store_id: storeA })
      .returning('id')
      .executeTakeFirstOrThrow()
  ).id;
  app = buildServer(database);
  await app.ready();
  manager = await tokenHeaders(database, 'manager');
  marketer = await tokenHeaders(database, 'marketer');
  agent = await tokenHeaders(database, 'service_agent');
  staffB = await tokenHeaders(database, 'store_staff', { storeIds: [storeB] });
});

afterAll(async () => {
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

const newsletter = {
  channel: 'newsletter',
  campaign: 'summer-2025',
  subject: '夏のセール',
  cost: '12.34',
  sentAt: '2025-07-01T09:00:00+09:00',
  externalId: 'NL-1',
};

describe('touches', () => {
  it('are recorded by marketers, idempotently by external id, and listed', async () => {
    const created = await send('POST', '/api/customers/C-1/touches', marketer, newsletter);
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ created: true, touch: { customerId: customer, cost: '12.34' } });
    const replay = await send('POST', '/api/customers/C-1/touches', marketer, newsletter);
    expect(replay.statusCode).toBe(200);
    expect(replay.json()).toMatchObject({ created: false, touch: { id: created.json().touch.id } });
    const conflict = await send('POST', '/api/customers/C-1/touches', marketer, {
      ...newsletter,
      cost: '99',
    });
    expect(conflict.statusCode).toBe(409);
    expect(conflict.json().error).toMatchObject({ code: 'touch_conflict', field: 'cost' });

    const list = await send('GET', `/api/customers/${customer}/touches?channel=newsletter`, manager);
    expect(list.statusCode).toBe(200);
    expect(list.json()).toMatchObject({ hasMore: false, limit: 50, offset: 0 });
    expect(list.json().touches).toHaveLength(1);
    const badChannel = await send('POST', '/api/customers/C-1/touches', marketer, { channel: 'pigeon' });
    expect([badChannel.statusCode, badChannel.json().error.field]).toEqual([400, 'channel']);
  });

  it('are not written by roles without touches:write, nor for an erased customer', async () => {
    expect((await send('POST', '/api/customers/C-1/touches', agent, newsletter)).statusCode).toBe(403);
    await database.db
      .insertInto('customers')
      .values({ external_id: 'C-GONE', erased_at: '2025-01-01T00:00:00Z' })
      .execute();
    const erased = await send('POST', '/api/customers/C-GONE/touches', marketer, { channel: 'email' });
    expect([erased.statusCode, erased.json().error.code]).toEqual([409, 'customer_erased']);
  });
});

describe('interactions', () => {
  let complaintId: number;

  it('are recorded by service agents (201, replay 200)', async () => {
    const complaint = {
      kind: 'complaint',
      channel: 'phone',
      subject: 'Lens case cracked',
      body: 'The case cracked on the second day.',
      storeId: storeA,
      openedAt: '2025-07-02T10:00:00+09:00',
      externalId: 'CC-1',
    };
    const created = await send('POST', '/api/customers/C-1/interactions', agent, complaint);
    expect(created.statusCode).toBe(201);
    complaintId = created.json().interaction.id;
    expect((await send('POST', '/api/customers/C-1/interactions', agent, complaint)).statusCode).toBe(200);
    const inquiry = await send('POST', '/api/customers/C-1/interactions', agent, {
      kind: 'inquiry',
      channel: 'web',
      body: 'Do you stock daily lenses?',
    });
    expect(inquiry.statusCode).toBe(201);
    expect(
      (await send('POST', '/api/customers/C-1/interactions', marketer, { kind: 'call', channel: 'phone' }))
        .statusCode,
    ).toBe(403);
  });

  it('hide complaint text from marketers by default, not from managers', async () => {
    const forMarketer = await send('GET', '/api/customers/C-1/interactions', marketer);
    expect(forMarketer.statusCode).toBe(200);
    const byKind = Object.fromEntries(
      forMarketer.json().interactions.map((i: { kind: string }) => [i.kind, i]),
    );
    expect(byKind.complaint).toMatchObject({ subject: 'Lens case cracked', body: null, bodyRedacted: true });
    expect(byKind.inquiry).toMatchObject({ body: 'Do you stock daily lenses?', bodyRedacted: false });

    const forManager = await send('GET', '/api/customers/C-1/interactions?kind=complaint', manager);
    expect(forManager.json().interactions).toEqual([
      expect.objectContaining({ body: 'The case cracked on the second day.', bodyRedacted: false }),
    ]);
  });

  it('move on by PATCH: resolving stamps resolvedAt', async () => {
    const resolved = await send('PATCH', `/api/customers/C-1/interactions/${complaintId}`, agent, {
      status: 'resolved',
    });
    expect(resolved.statusCode).toBe(200);
    expect(resolved.json().interaction.status).toBe('resolved');
    expect(typeof resolved.json().interaction.resolvedAt).toBe('string');
    const open = await send('GET', '/api/customers/C-1/interactions?status=open', manager);
    expect(open.json().interactions.map((i: { kind: string }) => i.kind)).toEqual(['inquiry']);
    expect(
      (await send('PATCH', '/api/customers/C-1/interactions/999999', agent, { status: 'closed' })).statusCode,
    ).toBe(404);
    const badStatus = await send('PATCH', `/api/customers/C-1/interactions/${complaintId}`, agent, {
      status: 'done',
    });
    expect([badStatus.statusCode, badStatus.json().error.field]).toEqual([400, 'status']);
  });

  it('follow store scope: staff of another store neither read nor write them', async () => {
    expect((await send('GET', '/api/customers/C-1/interactions', staffB)).statusCode).toBe(403);
    expect((await send('GET', '/api/customers/C-1/touches', staffB)).statusCode).toBe(403);
    const write = await send('POST', '/api/customers/C-1/interactions', staffB, {
      kind: 'call',
      channel: 'store',
    });
    expect([write.statusCode, write.json().error.code]).toEqual([403, 'customer_out_of_scope']);
    expect((await send('GET', '/api/customers/C-1/interactions?limit=0', manager)).json().error.field).toBe(
      'limit',
    );
  });
});
