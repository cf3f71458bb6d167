import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer, type KizunaServer } from '../../src/api/server.ts';
import type { Database } from '../../src/db/index.ts';
import { loadDemo } from '../../src/demo/load-demo.ts';
import { signInAs, tokenHeaders } from '../helpers/api.ts';
import { openTestDatabase } from '../helpers/database.ts';

/**
 * Scenario 1 (SCENARIOS.md), on the demo retailer, through the API as the people involved would use it:
 * a clerk at store A notes for a customer "wine: with ice"; months later the customer buys at store B
 * (the POS records the sale with its API token); the clerk at store B opens the customer's 360 and sees
 * the note, who wrote it, where and when. A clerk of a store the customer never used cannot open it.
 */
describe('scenario 1: the preference notebook', () => {
  let database: Database;
  let app: KizunaServer;
  beforeAll(async () => {
    database = await openTestDatabase();
    await loadDemo(database, { customers: 300, seed: 1 });
    app = buildServer(database);
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    await database?.close();
  });

  it('shows a note written at store A to the clerk at store B, with author, store and date', async () => {
    const stores = await database.db.selectFrom('stores').select(['id', 'code']).orderBy('code').execute();
    const [storeA, storeB, storeC] = stores;
    // A customer of store A who has never bought or been served at B or C.
    const customer = await sql<{ id: number; external_id: string }>`
      select c.id, c.external_id from customers c
      where c.home_store_id = ${storeA!.id}
        and not exists (select 1 from orders o where o.customer_id = c.id and o.store_id <> ${storeA!.id})
        and not exists (select 1 from interactions i where i.customer_id = c.id and i.store_id <> ${storeA!.id})
      order by c.id limit 1`
      .execute(database.db)
      .then((r) => r.rows[0]!);

    const clerkA = await signInAs(app, database, 'store_staff', { storeIds: [storeA!.id], code: 'clerk-a' });
    const clerkB = await signInAs(app, database, 'store_staff', { storeIds: [storeB!.id], code: 'clerk-b' });
    const clerkC = await signInAs(app, database, 'store_staff', { storeIds: [storeC!.id], code: 'clerk-c' });

    const noted = await app.inject({
      method: 'POST',
      url: `/api/customers/${customer.external_id}/preferences`,
      headers: clerkA.headers,
      payload: { key: 'wine', value: 'with ice' },
    });
    expect(noted.statusCode).toBe(201);

    // Before the visit, store B's clerk cannot open the customer.
    const before = await app.inject({
      method: 'GET',
      url: `/api/customers/${customer.id}/360`,
      headers: clerkB.headers,
    });
    expect(before.statusCode).toBe(403);

    // The customer buys at store B: the till records the sale.
    const product = await database.db
      .selectFrom('products')
      .select('sku')
      .orderBy('id')
      .executeTakeFirstOrThrow();
    const till = await tokenHeaders(database, 'store_staff', { storeIds: [storeB!.id] });
    const sale = await app.inject({
      method: 'POST',
      url: '/api/orders',
      headers: till,
      payload: {
        externalId: 'POS-B-0001',
        customerExternalId: customer.external_id,
        storeId: storeB!.id,
        lines: [{ sku: product.sku, quantity: 1 }],
      },
    });
    expect(sale.statusCode).toBe(201);

    const view = await app.inject({
      method: 'GET',
      url: `/api/customers/${customer.id}/360`,
      headers: clerkB.headers,
    });
    expect(view.statusCode).toBe(200);
    const note = view.json().preference_notes.find((n: { key: string }) => n.key === 'wine');
    expect(note).toMatchObject({
      value: 'with ice',
      author: { id: clerkA.staffId },
      store: { code: storeA!.code },
    });
    expect(Date.now() - Date.parse(note.noted_at)).toBeLessThan(60_000);

    const elsewhere = await app.inject({
      method: 'GET',
      url: `/api/customers/${customer.id}/360`,
      headers: clerkC.headers,
    });
    expect(elsewhere.statusCode).toBe(403);
  });
});
