import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer, type KizunaServer } from '../../src/api/server.ts';
import type { Database } from '../../src/db/index.ts';
import { loadDemo } from '../../src/demo/load-demo.ts';
import { signInAs } from '../helpers/api.ts';
import { openTestDatabase } from '../helpers/database.ts';

/** Every row of every table in the public schema, as text: where a personal value could hide. */
async function everything(database: Database): Promise<string> {
  const tables = await sql<{ table_name: string }>`
    select table_name from information_schema.tables
    where table_schema = 'public' and table_type = 'BASE TABLE'`.execute(database.db);
  const parts: string[] = [];
  for (const { table_name } of tables.rows) {
    const rows = await sql<{ row: string }>`select t::text as row from ${sql.table(table_name)} t`.execute(
      database.db,
    );
    parts.push(...rows.rows.map((r) => r.row));
  }
  return parts.join('\n');
}

const salesByYear = (database: Database) =>
  sql<{ year: string; total: string; orders: number }>`
    select to_char(ordered_at, 'YYYY') as year, sum(total)::text as total, count(*)::int as orders
    from orders group by 1 order by 1`
    .execute(database.db)
    .then((r) => r.rows);

/**
 * Scenario 15 (SCENARIOS.md) on the demo retailer, through the API: a customer asks to be forgotten →
 * afterwards no personal field remains anywhere, the audit log shows who erased them and when, and last
 * year's sales totals are unchanged.
 */
describe('scenario 15: forget me', () => {
  let database: Database;
  let app: KizunaServer;
  beforeAll(async () => {
    database = await openTestDatabase();
    await loadDemo(database, { customers: 300, seed: 15 });
    app = buildServer(database);
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    await database?.close();
  });

  it('erases every personal value, keeps the sales, and records who did it', async () => {
    const customer = await sql<{ id: number }>`
      select customer_id as id from orders where ordered_at >= '2025-01-01' and ordered_at < '2026-01-01'
      group by customer_id order by count(*) desc, customer_id limit 1`
      .execute(database.db)
      .then((r) => r.rows[0]!);
    const owner = await signInAs(app, database, 'owner', { code: 'the-owner' });
    const clerk = await signInAs(app, database, 'store_staff', { allStores: true });

    // What the shop learnt about them over time, through the API: values found nowhere else.
    const personal = {
      name: '忘却 希望子',
      name_kana: 'ボウキャク キボウコ',
      email: 'forget.me.please@example.jp',
      phone: '090-7777-1515',
      postal_code: '150-0042',
      address: '東京都渋谷区宇田川町 99-15 忘却ビル',
      external_id: 'MEMBER-FORGET-15',
    };
    const updated = await app.inject({
      method: 'PATCH',
      url: `/api/customers/${customer.id}`,
      headers: clerk.headers,
      payload: { ...personal, tags: ['likes-author-忘却'] },
    });
    expect(updated.statusCode).toBe(200);
    const note = 'prefers the quiet corner, allergic to 忘却草';
    expect(
      (
        await app.inject({
          method: 'POST',
          url: `/api/customers/${customer.id}/preferences`,
          headers: clerk.headers,
          payload: { note },
        })
      ).statusCode,
    ).toBe(201);
    const complaint = 'the 忘却 umbrella broke on the first rainy day';
    expect(
      (
        await app.inject({
          method: 'POST',
          url: `/api/customers/${customer.id}/interactions`,
          headers: clerk.headers,
          payload: { kind: 'complaint', channel: 'store', subject: 'Broken umbrella', body: complaint },
        })
      ).statusCode,
    ).toBe(201);
    const values = [...Object.values(personal), note, complaint, 'likes-author-忘却'];
    const before = await everything(database);
    for (const value of values) expect(before, value).toContain(value);
    const salesBefore = await salesByYear(database);

    const erase = await app.inject({
      method: 'POST',
      url: `/api/customers/${customer.id}/erase`,
      headers: owner.headers,
      payload: { confirm: true, reason: 'the customer asked at the counter on 2026-11-29' },
    });
    expect(erase.statusCode).toBe(200);

    const after = await everything(database);
    for (const value of values) expect(after, value).not.toContain(value);
    expect(await salesByYear(database)).toEqual(salesBefore);
    expect(salesBefore.find((y) => y.year === '2025')?.orders).toBeGreaterThan(0);

    const view = await app.inject({
      method: 'GET',
      url: `/api/customers/${customer.id}/360`,
      headers: owner.headers,
    });
    expect(view.json().customer).toMatchObject({ erased: true, name: null, email: null, phone: null });

    const audit = await app.inject({
      method: 'GET',
      url: `/api/audit?customerId=${customer.id}&action=erase`,
      headers: owner.headers,
    });
    const entry = audit
      .json()
      .entries.find((e: { action: string }) => e.action === 'POST /api/customers/:id/erase');
    expect(entry).toMatchObject({
      actorStaffId: owner.staffId,
      actorName: 'Test owner',
      outcome: 'ok',
      status: 200,
    });
    expect(Date.now() - Date.parse(entry.at)).toBeLessThan(60_000);

    const again = await app.inject({
      method: 'POST',
      url: `/api/customers/${customer.id}/erase`,
      headers: owner.headers,
      payload: { confirm: true, reason: 'twice' },
    });
    expect(again.statusCode).toBe(409);
  });
});
