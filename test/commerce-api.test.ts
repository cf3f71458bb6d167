import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer, type KizunaServer } from '../src/api/server.ts';
import { queryAudit } from '../src/auth/index.ts';
import type { Database } from '../src/db/index.ts';
import { tokenHeaders } from './helpers/api.ts';
import { openTestDatabase } from './helpers/database.ts';

let database: Database;
let app: KizunaServer;
let storeA: number;
let storeB: number;
let homeA: number;
let homeB: number;
let owner: Record<string, string>;
let manager: Record<string, string>;
let marketer: Record<string, string>;
let tillA: Record<string, string>;

beforeAll(async () => {
  database = await openTestDatabase();
  const db = database.db;
  [storeA, storeB] = (
    await db
      .insertInto('stores')
      .values([
        { code: 'S01', name: '渋谷店' },
        { code: 'S02', name: '梅田店' },
      ])
      .returning('id')
      .execute()
  ).map((r) => r.id) as [number, number];
  await db
    .insertInto('products')
    .values([
      { sku: 'LENS2W', name: 'Contact lenses 2-week', category: 'lenses', price: '3000.00' },
      { sku: 'SOL', name: 'Lens solution', category: 'care', price: '1234.56' },
    ])
    .execute();
  [homeA, homeB] = (
    await db
      .insertInto('customers')
      .values([
        { external_id: 'C-A', name: 'Home A', home_store_id: storeA },
        { external_id: 'C-B', name: 'Home B', home_store_id: storeB },
      ])
      .returning('id')
      .execute()
  ).map((r) => r.id) as [number, number];
  app = buildServer(database);
  await app.ready();
  owner = await tokenHeaders(database, 'owner');
  manager = await tokenHeaders(database, 'manager');
  marketer = await tokenHeaders(database, 'marketer');
  tillA = await tokenHeaders(database, 'store_staff', { storeIds: [storeA] });
});

afterAll(async () => {
  await app?.close();
  await database?.close();
});

const post = (url: string, headers: Record<string, string>, payload: unknown) =>
  app.inject({ method: 'POST', url, headers, payload: payload as Record<string, unknown> });
const get = (url: string, headers: Record<string, string>) => app.inject({ method: 'GET', url, headers });
const patch = (url: string, headers: Record<string, string>, payload: unknown) =>
  app.inject({ method: 'PATCH', url, headers, payload: payload as Record<string, unknown> });

const count = async (table: 'orders' | 'order_lines') =>
  Number(
    (
      await database.db
        .selectFrom(table)
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  );

const sale = {
  externalId: 'POS-100',
  customerExternalId: 'C-A',
  storeCode: 'S01',
  orderedAt: '2025-06-01T12:00:00+09:00',
  lines: [
    { sku: 'LENS2W', quantity: 2 },
    { sku: 'SOL', quantity: 3, unitPrice: '1111.11' },
  ],
};

describe('POST /api/orders', () => {
  it('creates the order with exact totals (201), and a replay answers 200 without new rows', async () => {
    const created = await post('/api/orders', tillA, sale);
    expect(created.statusCode).toBe(201);
    const body = created.json();
    expect(body.created).toBe(true);
    expect(body.order).toMatchObject({
      externalId: 'POS-100',
      customerId: homeA,
      store: { id: storeA, code: 'S01' },
      orderedAt: '2025-06-01T03:00:00.000Z',
      currency: 'JPY',
      total: '9333.33',
    });
    expect(body.order.lines.map((l: { amount: string }) => l.amount)).toEqual(['6000.00', '3333.33']);

    const replay = await post('/api/orders', tillA, sale);
    expect(replay.statusCode).toBe(200);
    expect(replay.json()).toMatchObject({ created: false, order: { id: body.order.id, total: '9333.33' } });
    expect([await count('orders'), await count('order_lines')]).toEqual([1, 2]);
  });

  it('refuses the same external id with different content (409, naming the field)', async () => {
    const response = await post('/api/orders', tillA, {
      ...sale,
      lines: [sale.lines[0], { ...sale.lines[1], unitPrice: '1111.12' }],
    });
    expect(response.statusCode).toBe(409);
    expect(response.json().error).toMatchObject({ code: 'order_conflict', field: 'lines.1.unitPrice' });
    expect(await count('orders')).toBe(1);
  });

  it('names the line of an unknown SKU (400) and of an invalid quantity', async () => {
    const unknown = await post('/api/orders', tillA, {
      ...sale,
      externalId: 'POS-101',
      lines: [sale.lines[0], { sku: 'NOPE', quantity: 1 }],
    });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().error).toMatchObject({ code: 'unknown_product', field: 'lines.1.sku' });
    const invalid = await post('/api/orders', tillA, {
      ...sale,
      externalId: 'POS-101',
      lines: [sale.lines[0], sale.lines[0], { sku: 'SOL', quantity: -1 }],
    });
    expect(invalid.statusCode).toBe(400);
    expect(invalid.json().error).toMatchObject({ code: 'invalid_request', field: 'lines.2.quantity' });
    expect(await count('orders')).toBe(1);
  });

  it('lets a store-limited token sell only at its stores (403 elsewhere), to any customer', async () => {
    const atB = await post('/api/orders', tillA, { ...sale, externalId: 'POS-102', storeCode: 'S02' });
    expect(atB.statusCode).toBe(403);
    expect(atB.json().error.code).toBe('store_out_of_scope');

    // Home B's customer is not yet one of store A's, but may buy there; then store A sees their orders.
    const before = await get('/api/customers/C-B/orders', tillA);
    expect(before.statusCode).toBe(403);
    const atA = await post('/api/orders', tillA, {
      ...sale,
      externalId: 'POS-103',
      customerId: homeB,
      customerExternalId: undefined,
    });
    expect(atA.statusCode).toBe(201);
    const after = await get('/api/customers/C-B/orders', tillA);
    expect(after.statusCode).toBe(200);
    expect(after.json().orders.map((o: { externalId: string }) => o.externalId)).toEqual(['POS-103']);
  });

  it('names the customer in the audit log, refused or not', async () => {
    const audit = await queryAudit(database, { action: 'POST /api/orders', customerId: homeB });
    expect(audit.entries.map((e) => e.outcome).sort()).toEqual(['ok']);
    const denied = await queryAudit(database, { action: 'POST /api/orders', outcome: 'denied' });
    expect(denied.entries.map((e) => e.customerId)).toContain(homeA);
  });

  it('refuses roles without orders:write and unknown customers', async () => {
    const byMarketer = await post('/api/orders', marketer, { ...sale, externalId: 'POS-104' });
    expect(byMarketer.statusCode).toBe(403);
    expect(byMarketer.json().error.code).toBe('forbidden');
    const nobody = await post('/api/orders', owner, {
      ...sale,
      externalId: 'POS-105',
      customerExternalId: 'NOBODY',
    });
    expect(nobody.statusCode).toBe(404);
    expect(nobody.json().error).toMatchObject({ code: 'customer_not_found', field: 'customerExternalId' });
  });
});

describe('GET /api/customers/:id/orders', () => {
  it('pages newest first and refuses a limit above 200 naming the field', async () => {
    await post('/api/orders', owner, { ...sale, externalId: 'POS-106', orderedAt: '2025-07-01T00:00:00Z' });
    const page = await get(`/api/customers/${homeA}/orders?limit=1`, manager);
    expect(page.statusCode).toBe(200);
    expect(page.json()).toMatchObject({ limit: 1, offset: 0, hasMore: true });
    expect(page.json().orders.map((o: { externalId: string }) => o.externalId)).toEqual(['POS-106']);
    const next = await get(`/api/customers/${homeA}/orders?limit=1&offset=1`, manager);
    expect(next.json().orders.map((o: { externalId: string }) => o.externalId)).toEqual(['POS-100']);
    const tooMany = await get(`/api/customers/${homeA}/orders?limit=201`, manager);
    expect(tooMany.statusCode).toBe(400);
    expect(tooMany.json().error.field).toBe('limit');
    expect((await get('/api/customers/NOBODY/orders', manager)).statusCode).toBe(404);
  });
});

describe('stores', () => {
  it('are listed by catalog readers and written by catalog writers for every store', async () => {
    const created = await post('/api/stores', manager, {
      code: 'S03',
      name: '札幌店',
      timezone: 'Asia/Tokyo',
    });
    expect(created.statusCode).toBe(201);
    const store = created.json().store;
    expect(store).toMatchObject({ code: 'S03', name: '札幌店', timezone: 'Asia/Tokyo' });
    expect((await post('/api/stores', manager, { code: 'S03', name: 'again' })).statusCode).toBe(409);
    const badZone = await post('/api/stores', manager, { code: 'S04', name: 'x', timezone: 'Mars/Olympus' });
    expect([badZone.statusCode, badZone.json().error.field]).toEqual([400, 'timezone']);
    expect((await post('/api/stores', tillA, { code: 'S05', name: 'x' })).statusCode).toBe(403);

    const renamed = await patch(`/api/stores/${store.id}`, manager, { name: '札幌駅前店' });
    expect(renamed.json().store.name).toBe('札幌駅前店');
    const taken = await patch(`/api/stores/${store.id}`, manager, { code: 'S01' });
    expect([taken.statusCode, taken.json().error.code]).toEqual([409, 'store_code_taken']);
    expect((await patch('/api/stores/999999', manager, { name: 'x' })).statusCode).toBe(404);

    const listed = await get('/api/stores', tillA);
    expect(listed.json().stores.map((s: { code: string }) => s.code)).toEqual(['S01', 'S02', 'S03']);
  });

  it('may not be edited by a manager limited to other stores', async () => {
    const managerA = await tokenHeaders(database, 'manager', { storeIds: [storeA] });
    expect((await patch(`/api/stores/${storeA}`, managerA, { name: '渋谷本店' })).statusCode).toBe(200);
    const other = await patch(`/api/stores/${storeB}`, managerA, { name: 'mine now' });
    expect([other.statusCode, other.json().error.code]).toEqual([403, 'store_out_of_scope']);
  });
});

describe('products', () => {
  it('are created, found by q, paged, read and updated', async () => {
    const created = await post('/api/products', manager, {
      sku: 'GLS-100',
      name: 'Reading glasses 100%',
      category: 'glasses',
      price: 4980,
      unitCost: '2100.5',
      repurchaseCycleDays: 365,
    });
    expect(created.statusCode).toBe(201);
    const product = created.json().product;
    expect(product).toMatchObject({ price: '4980.00', unitCost: '2100.50', repurchaseCycleDays: 365 });
    expect((await post('/api/products', manager, { ...product, sku: 'GLS-100' })).statusCode).toBe(409);
    const badPrice = await post('/api/products', manager, {
      sku: 'X',
      name: 'x',
      category: 'x',
      price: '1.999',
    });
    expect([badPrice.statusCode, badPrice.json().error.field]).toEqual([400, 'price']);
    expect(
      (await post('/api/products', tillA, { sku: 'Y', name: 'y', category: 'y', price: 1 })).statusCode,
    ).toBe(403);

    const byCategory = await get('/api/products?q=CARE', tillA);
    expect(byCategory.json().products.map((p: { sku: string }) => p.sku)).toEqual(['SOL']);
    // % is a character to look for, not a wildcard.
    const percent = await get('/api/products?q=100%25', tillA);
    expect(percent.json().products.map((p: { sku: string }) => p.sku)).toEqual(['GLS-100']);
    const page = await get('/api/products?limit=2', tillA);
    expect(page.json()).toMatchObject({ hasMore: true, limit: 2 });
    expect((await get('/api/products?limit=500', tillA)).json().error.field).toBe('limit');

    expect((await get(`/api/products/${product.id}`, marketer)).json().product.sku).toBe('GLS-100');
    expect((await get('/api/products/999999', marketer)).statusCode).toBe(404);
    const repriced = await patch(`/api/products/${product.id}`, manager, { price: '5480', unitCost: null });
    expect(repriced.json().product).toMatchObject({
      price: '5480.00',
      unitCost: null,
      name: 'Reading glasses 100%',
    });
    const taken = await patch(`/api/products/${product.id}`, manager, { sku: 'SOL' });
    expect([taken.statusCode, taken.json().error.code]).toEqual([409, 'product_sku_taken']);
  });
});
