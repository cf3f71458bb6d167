import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BODY_LIMIT_BYTES, buildServer } from '../src/api/index.ts';
import { publicRoute } from '../src/api/policy.ts';
import type { Database } from '../src/db/index.ts';
import { migrations } from '../src/db/migrations/index.ts';
import { KizunaError } from '../src/errors.ts';
import { tokenHeaders } from './helpers/api.ts';
import { openTestDatabase } from './helpers/database.ts';

let database: Database;
let app: FastifyInstance;
let auth: Record<string, string>;
const logs: string[] = [];

beforeAll(async () => {
  database = await openTestDatabase();
  const db = database.db;
  await db.insertInto('stores').values({ id: 1, code: 'S01', name: '渋谷店' }).execute();
  await db
    .insertInto('products')
    .values({ id: 1, sku: 'LENS2W', name: 'Contact lenses 2-week', category: 'lenses', price: '3000.00' })
    .execute();
  await db
    .insertInto('customers')
    .values([
      { id: 1, external_id: 'C-0001', name: '山田 花子', email: 'hanako@example.jp', home_store_id: 1 },
      { id: 2, external_id: 'C-0002', name: '田中 一郎' },
    ])
    .execute();
  await db
    .insertInto('customers')
    .values({ id: 3, external_id: 'C-0003', merged_into_customer_id: 1 })
    .execute();
  await db
    .insertInto('orders')
    .values([
      {
        customer_id: 1,
        id: 11,
        external_id: 'O1',
        store_id: 1,
        ordered_at: '2024-04-01T09:00:00Z',
        total: '6000.00',
      },
      {
        customer_id: 2,
        id: 21,
        external_id: 'O2',
        store_id: 1,
        ordered_at: '2024-04-02T09:00:00Z',
        total: '3000.00',
      },
    ])
    .execute();
  await db
    .insertInto('order_lines')
    .values([
      {
        customer_id: 1,
        order_id: 11,
        line_no: 1,
        product_id: 1,
        quantity: 2,
        unit_price: '3000.00',
        amount: '6000.00',
      },
      {
        customer_id: 2,
        order_id: 21,
        line_no: 1,
        product_id: 1,
        quantity: 1,
        unit_price: '3000.00',
        amount: '3000.00',
      },
    ])
    .execute();
  await db
    .insertInto('touches')
    .values({
      customer_id: 1,
      id: 31,
      channel: 'email',
      campaign: 'Spring sale',
      cost: '0.00',
      sent_at: '2024-05-01T00:00:00Z',
    })
    .execute();

  app = buildServer(database, {
    logger: { level: 'error', stream: { write: (line: string) => logs.push(line) } },
  });
  // Test-only routes, registered before the server is ready, to reach the error paths.
  app.get('/test/boom', publicRoute('test'), async () => {
    throw new Error('secret internal detail: password=hunter2');
  });
  app.get('/test/kizuna', publicRoute('test'), async () => {
    throw new KizunaError('quota_exceeded', 'Too many letters this month', { field: 'letters', status: 409 });
  });
  app.post('/test/echo', publicRoute('test'), async (request) => ({ received: request.body }));
  await app.ready();
  auth = await tokenHeaders(database, 'manager');
});

afterAll(async () => {
  await app?.close();
  await database?.close();
});

describe('GET /health', () => {
  it('reports the engine and the schema version', async () => {
    const response = await app.inject({ method: 'GET', url: '/health' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      status: 'ok',
      engine: database.engine,
      schemaVersion: Object.keys(migrations).at(-1),
      database: 'reachable',
    });
  });

  it('answers 503 when the database is unreachable', async () => {
    const closed = await openTestDatabase();
    await closed.close();
    const server = buildServer(closed);
    try {
      const response = await server.inject({ method: 'GET', url: '/health' });
      expect(response.statusCode).toBe(503);
      expect(response.json()).toMatchObject({
        status: 'unavailable',
        engine: closed.engine,
        database: 'unreachable',
      });
    } finally {
      await server.close();
    }
  });
});

describe('GET /api/customers/:id/timeline', () => {
  it("returns the customer's file and events, newest first", async () => {
    const response = await app.inject({ method: 'GET', headers: auth, url: '/api/customers/1/timeline' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    const body = response.json();
    expect(body.customer).toMatchObject({
      id: 1,
      name: '山田 花子',
      home_store: { code: 'S01', name: '渋谷店' },
    });
    expect(body.events.map((e: { kind: string; id: number }) => `${e.kind}:${e.id}`)).toEqual([
      'touch:31',
      'order:11',
    ]);
    expect(body.events[1]).toMatchObject({
      at: '2024-04-01T09:00:00.000Z',
      total: '6000.00',
      lines: [{ sku: 'LENS2W', quantity: 2, amount: '6000.00' }],
    });
    expect(body.has_more).toBe(false);
  });

  it('finds the customer by external id, and a merged-away customer as the survivor', async () => {
    for (const key of ['C-0001', '3', 'C-0003']) {
      const response = await app.inject({
        method: 'GET',
        headers: auth,
        url: `/api/customers/${key}/timeline`,
      });
      expect(response.statusCode).toBe(200);
      expect(response.json().customer.id).toBe(1);
    }
  });

  it('applies limit, before and kinds', async () => {
    const limited = await app.inject({
      method: 'GET',
      headers: auth,
      url: '/api/customers/1/timeline?limit=1',
    });
    expect(limited.json().events.map((e: { id: number }) => e.id)).toEqual([31]);
    expect(limited.json().has_more).toBe(true);
    const before = await app.inject({
      method: 'GET',
      headers: auth,
      url: '/api/customers/1/timeline?before=2024-05-01T09:00:00%2B09:00',
    });
    expect(before.statusCode).toBe(200);
    expect(before.json().events.map((e: { id: number }) => e.id)).toEqual([11]);
    const kinds = await app.inject({
      method: 'GET',
      headers: auth,
      url: '/api/customers/1/timeline?kinds=touch,%20touch',
    });
    expect(kinds.json().events.map((e: { kind: string }) => e.kind)).toEqual(['touch']);
  });

  it('answers 404 customer_not_found for a missing customer', async () => {
    const response = await app.inject({ method: 'GET', headers: auth, url: '/api/customers/999/timeline' });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({
      error: { code: 'customer_not_found', message: 'No customer with id or external id 999', field: 'id' },
    });
  });

  it.each([
    ['-1', 'id'],
    ['0', 'id'],
    ['a%20b', 'id'],
    ['hanako%40example.jp', 'id'], // e-mail addresses are not accepted in URLs
    ['1/timeline?limit=0', 'limit'],
    ['1/timeline?limit=501', 'limit'],
    ['1/timeline?limit=abc', 'limit'],
    ['1/timeline?limit=1.5', 'limit'],
    ['1/timeline?limit=1&limit=2', 'limit'],
    ['1/timeline?before=2024-05-01', 'before'],
    ['1/timeline?before=2024-05-01T09:00:00', 'before'],
    ['1/timeline?kinds=touch,bogus', 'kinds'],
    ['1/timeline?kinds=', 'kinds'],
  ])('answers 400 invalid_request for %s, naming %s', async (path, field) => {
    const url = path.includes('/') ? `/api/customers/${path}` : `/api/customers/${path}/timeline`;
    const response = await app.inject({ method: 'GET', headers: auth, url });
    expect(response.statusCode).toBe(400);
    const body = response.json();
    expect(body.error).toMatchObject({ code: 'invalid_request', field });
    expect(body.error.message).toMatch(new RegExp(`^${field}: `));
    expect(Object.keys(body)).toEqual(['error']);
  });
});

describe('errors', () => {
  it('answers an unknown route with a JSON 404', async () => {
    for (const [method, url] of [
      ['GET', '/api/nope?x=1'],
      ['POST', '/health'],
    ] as const) {
      const response = await app.inject({ method, url });
      expect(response.statusCode).toBe(404);
      expect(response.json()).toEqual({
        error: { code: 'not_found', message: `No route ${method} ${url.split('?')[0]}` },
      });
    }
  });

  it("answers the router's own errors (bad URL encoding, over-long parameter) in the same shape", async () => {
    const badEncoding = await app.inject({ method: 'GET', url: '/api/customers/%E0%A4%A/timeline' });
    expect(badEncoding.statusCode).toBe(400);
    expect(badEncoding.json().error.code).toBe('invalid_request');
    const tooLong = await app.inject({ method: 'GET', url: `/api/customers/${'x'.repeat(200)}/timeline` });
    expect(tooLong.statusCode).toBe(414);
    expect(tooLong.json().error.code).toBe('uri_too_long');
  });

  it('answers an unexpected error with a bare 500 and logs it server-side', async () => {
    const response = await app.inject({ method: 'GET', url: '/test/boom' });
    expect(response.statusCode).toBe(500);
    expect(response.json()).toEqual({
      error: { code: 'internal_error', message: 'Internal server error; it has been logged.' },
    });
    expect(response.body).not.toMatch(/secret|hunter2|stack|at .*\.ts/);
    expect(logs.join('\n')).toContain('secret internal detail');
  });

  it('answers a KizunaError with its status, code, message and field', async () => {
    const response = await app.inject({ method: 'GET', url: '/test/kizuna' });
    expect(response.statusCode).toBe(409);
    expect(response.json()).toEqual({
      error: { code: 'quota_exceeded', message: 'Too many letters this month', field: 'letters' },
    });
  });

  it('refuses a body over 1 MiB and malformed JSON in the same shape', async () => {
    const big = await app.inject({
      method: 'POST',
      url: '/test/echo',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ text: 'x'.repeat(BODY_LIMIT_BYTES) }),
    });
    expect(big.statusCode).toBe(413);
    expect(big.json().error.code).toBe('payload_too_large');

    const small = await app.inject({ method: 'POST', url: '/test/echo', payload: { text: 'x' } });
    expect(small.json()).toEqual({ received: { text: 'x' } });

    const malformed = await app.inject({
      method: 'POST',
      url: '/test/echo',
      headers: { 'content-type': 'application/json' },
      payload: '{"text":',
    });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().error.code).toBe('invalid_request');

    const unsupported = await app.inject({
      method: 'POST',
      url: '/test/echo',
      headers: { 'content-type': 'application/xml' },
      payload: '<x/>',
    });
    expect(unsupported.statusCode).toBe(415);
    expect(unsupported.json().error.code).toBe('unsupported_media_type');
  });
});
