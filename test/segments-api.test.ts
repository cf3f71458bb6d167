import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../src/api/index.ts';
import type { Database } from '../src/db/index.ts';
import { migrateToLatest, openDatabase } from '../src/db/index.ts';
import { tokenHeaders } from './helpers/api.ts';
import { kizuna } from './helpers/cli.ts';
import { createTestTarget, type TestTarget } from './helpers/database.ts';

/**
 * A shop worked out by hand: Aiko bought wine and books, Ben wine only, Chie books only, Daichi nothing
 * but has an open complaint; Eri (merged into Aiko) and Fumi (erased) bought wine and never count.
 * Store 1 is Aiko's and Ben's home store; Chie's and Daichi's is store 2.
 */
const AS_OF = '2026-06-30';
const SHOP = {
  aiko: 1,
  ben: 2,
  chie: 3,
  daichi: 4,
  eri: 5,
  fumi: 6,
};

async function loadShop(database: Database): Promise<void> {
  const db = database.db;
  await db
    .insertInto('stores')
    .values([1, 2].map((id) => ({ id, code: `S${id}`, name: `Store ${id}` })))
    .execute();
  await db
    .insertInto('products')
    .values([
      { id: 1, sku: 'W1', name: 'Red wine', category: 'wine', price: 3000 },
      { id: 2, sku: 'B1', name: 'A novel', category: 'books', price: 1500 },
    ])
    .execute();
  await db
    .insertInto('customers')
    .values([
      { id: 1, name: 'Aiko', email: 'aiko@example.jp', home_store_id: 1 },
      { id: 2, name: 'Ben', home_store_id: 1 },
      { id: 3, name: 'Chie', home_store_id: 2 },
      { id: 4, name: 'Daichi', home_store_id: 2 },
      { id: 5, name: 'Eri', home_store_id: 1, merged_into_customer_id: 1 },
      { id: 6, name: null, home_store_id: 1, erased_at: new Date('2026-06-01T00:00:00Z') },
    ])
    .execute();
  const purchases: [number, number][] = [
    [SHOP.aiko, 1],
    [SHOP.aiko, 2],
    [SHOP.ben, 1],
    [SHOP.chie, 2],
    [SHOP.eri, 1],
    [SHOP.fumi, 1],
  ];
  for (const [n, [customer, product]] of purchases.entries()) {
    await db
      .insertInto('orders')
      .values({
        customer_id: customer,
        id: n + 1,
        external_id: `O${n + 1}`,
        ordered_at: new Date('2026-06-01T10:00:00Z'),
        total: 1000,
      })
      .execute();
    await db
      .insertInto('order_lines')
      .values({
        customer_id: customer,
        order_id: n + 1,
        line_no: 1,
        product_id: product,
        quantity: 1,
        unit_price: 1000,
        amount: 1000,
      })
      .execute();
  }
  await db
    .insertInto('interactions')
    .values({
      customer_id: SHOP.daichi,
      kind: 'complaint',
      channel: 'phone',
      status: 'open',
      opened_at: new Date('2026-06-20T09:00:00Z'),
    })
    .execute();
}

describe('segments over HTTP and the command line', () => {
  let target: TestTarget;
  let database: Database;
  let app: ReturnType<typeof buildServer>;
  let owner: Record<string, string>;
  beforeAll(async () => {
    target = await createTestTarget(join(tmpdir(), `kizuna-segments-${process.pid}-${Date.now()}`));
    database = await openDatabase(target.config);
    await migrateToLatest(database);
    await loadShop(database);
    app = buildServer(database);
    owner = await tokenHeaders(database, 'owner');
  });
  afterAll(async () => {
    await database.close();
    await target.drop();
  });

  const post = (url: string, payload: unknown, headers = owner) =>
    app.inject({ method: 'POST', url, headers, payload: payload as object });
  const membersOf = async (payload: Record<string, unknown>, headers = owner) => {
    const response = await post('/api/segments/preview', { asOf: AS_OF, ...payload }, headers);
    expect(response.statusCode, response.body).toBe(200);
    return response.json().customers.map((c: { id: number }) => c.id);
  };

  it('the A / B templates and open complaints select the customers worked out by hand', async () => {
    const ab = { a: 'category:wine', b: 'category:books' };
    expect(await membersOf({ template: 'bought-a-not-b', params: ab })).toEqual([SHOP.ben]);
    expect(await membersOf({ template: 'bought-b-not-a', params: ab })).toEqual([SHOP.chie]);
    expect(
      await membersOf({ template: 'bought-both', params: { a: 'sku:W1', b: { productIds: [2] } } }),
    ).toEqual([SHOP.aiko]);
    expect(await membersOf({ template: 'open-complaints' })).toEqual([SHOP.daichi]);
    expect(await membersOf({ template: 'new-customers', params: { days: 30 } })).toEqual([
      SHOP.aiko,
      SHOP.ben,
      SHOP.chie,
    ]);
    const count = await post('/api/segments/count', {
      asOf: AS_OF,
      rules: { op: 'not', child: { kind: 'purchased' } },
    });
    expect(count.json().members).toBe(1); // Daichi: Eri and Fumi are never members
  });

  it('names the node and parameter at fault', async () => {
    const response = await post('/api/segments/count', {
      rules: {
        op: 'and',
        children: [
          { kind: 'tier', tiers: ['loyal'] },
          { kind: 'purchased', withinDays: 0 },
        ],
      },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toMatchObject({
      code: 'invalid_rules',
      field: 'rules.children[1].withinDays',
    });
    const unknown = await post('/api/segments/count', {
      rules: { op: 'or', children: [{ op: 'not', child: { kind: 'bogus' } }] },
    });
    expect(unknown.json().error.field).toBe('rules.children[0].child.kind');
    const typo = await post('/api/segments/count', { rules: { kind: 'purchased', withinDay: 3 } });
    expect(typo.json().error.message).toMatch(/^rules: .*withinDay/);
    const param = await post('/api/segments/count', {
      template: 'bought-both',
      params: { a: 'category:wine' },
    });
    expect(param.json().error.field).toBe('params.b');
  });

  it('keeps hostile text in every string field inert', async () => {
    const hostile = [
      "'; drop table customers; --",
      '%',
      '_',
      '\\',
      '{a,"b"}',
      "') or true --",
      '$1',
      'x\u0000y'.replace('\u0000', ''),
    ];
    for (const text of hostile) {
      const rules = {
        op: 'or',
        children: [
          { kind: 'purchased', skus: [text], categories: [text] },
          { kind: 'tag', tags: [text] },
          { kind: 'custom_field', field: text, equals: text },
          { kind: 'acquisition_source', sources: [text] },
          { kind: 'touch', campaign: text, variant: text },
          { kind: 'preference', key: text, value: text, text },
        ],
      };
      const response = await post('/api/segments/count', { asOf: AS_OF, rules });
      expect(response.statusCode, text).toBe(200);
      expect(response.json().members).toBe(0);
      const saved = await post('/api/segments', { name: text, description: text, rules });
      expect(saved.statusCode).toBe(201);
      expect(saved.json().name).toBe(text.trim());
    }
    const customers = await sql<{ n: number }>`select count(*)::int as n from customers`.execute(database.db);
    expect(customers.rows[0]!.n).toBe(6);
  });

  it('respects store scope and the export permission', async () => {
    const store1 = await tokenHeaders(database, 'marketer', { storeIds: [1] });
    expect(await membersOf({ rules: { kind: 'purchased' } }, store1)).toEqual([SHOP.aiko, SHOP.ben]);
    const refused = await post('/api/segments/export', { rules: { kind: 'purchased' } }, store1);
    expect(refused.statusCode).toBe(403);
    const csv = await post('/api/segments/export', { asOf: AS_OF, rules: { kind: 'purchased' } });
    expect(csv.statusCode).toBe(200);
    const lines = csv.body.trim().split('\n');
    expect(lines[0]).toMatch(/^id,external_id,name,email/);
    expect(lines.slice(1).map((l) => Number(l.split(',')[0]))).toEqual([SHOP.aiko, SHOP.ben, SHOP.chie]);
    const staff = await tokenHeaders(database, 'store_staff', { storeIds: [1] });
    expect((await post('/api/segments/count', { rules: { kind: 'purchased' } }, staff)).statusCode).toBe(403);
  });

  it('saves, re-evaluates and snapshots; the snapshot stays as it was when customers change', async () => {
    const saved = await post('/api/segments', {
      name: 'wine lovers',
      description: 'bought wine',
      rules: { kind: 'purchased', categories: ['wine'] },
    });
    expect(saved.statusCode).toBe(201);
    const id = saved.json().id;
    const snapshot = await post(`/api/segments/${id}/snapshots`, { asOf: AS_OF });
    expect(snapshot.statusCode).toBe(201);
    expect(snapshot.json().members).toBe(2);
    // Chie buys wine afterwards: the segment grows, the snapshot does not.
    await database.db
      .insertInto('orders')
      .values({
        customer_id: SHOP.chie,
        id: 100,
        external_id: 'O100',
        ordered_at: new Date('2026-06-30T08:00:00Z'),
        total: 1000,
      })
      .execute();
    await database.db
      .insertInto('order_lines')
      .values({
        customer_id: SHOP.chie,
        order_id: 100,
        line_no: 1,
        product_id: 1,
        quantity: 1,
        unit_price: 1000,
        amount: 1000,
      })
      .execute();
    const evaluated = await post(`/api/segments/${id}/evaluate`, { asOf: AS_OF });
    expect(evaluated.json().members).toBe(3);
    const detail = (await app.inject({ method: 'GET', url: `/api/segments/${id}`, headers: owner })).json();
    expect(detail.sizes.map((s: { members: number }) => s.members)).toEqual([2, 3]);
    expect(detail.snapshots).toHaveLength(1);
    const frozen = await sql<{ customer_id: number }>`
      select customer_id from segment_snapshot_members where snapshot_id = ${snapshot.json().id} order by customer_id`.execute(
      database.db,
    );
    expect(frozen.rows.map((r) => r.customer_id)).toEqual([SHOP.aiko, SHOP.ben]);
    const list = (await app.inject({ method: 'GET', url: '/api/segments', headers: owner })).json();
    expect(list.segments.map((s: { name: string }) => s.name)).toContain('wine lovers');
  });

  it('counts, saves and lists from the command line', async () => {
    await database.close();
    const rulesFile = join(tmpdir(), `kizuna-rules-${process.pid}.json`);
    await writeFile(
      rulesFile,
      JSON.stringify({ op: 'and', children: [{ kind: 'purchased', categories: ['books'] }] }),
    );
    const count = await kizuna(['segment', 'count', '--rules', rulesFile, '--as-of', AS_OF], target.env);
    expect(count.stderr).toBe('');
    expect(count.stdout).toMatch(/^2 customers/);
    const template = await kizuna(
      [
        'segment',
        'save',
        'wine-not-books',
        '--template',
        'bought-a-not-b',
        '--param',
        'a=category:wine',
        '--param',
        'b=category:books',
        '--as-of',
        AS_OF,
      ],
      target.env,
    );
    expect(template.stdout).toMatch(/"wine-not-books" saved: 1 customers/);
    const bad = await kizuna(
      ['segment', 'count', '--template', 'bought-both', '--param', 'a=category:wine'],
      target.env,
    );
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/params\.b/);
    const list = await kizuna(['segment', 'list'], target.env);
    expect(list.stdout).toMatch(/wine-not-books/);
    database = await openDatabase(target.config);
  });
});
