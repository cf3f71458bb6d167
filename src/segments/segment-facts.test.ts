import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase } from '../../test/helpers/database.ts';
import { CLI_ACTOR } from '../auth/index.ts';
import { eraseCustomer, mergeCustomers } from '../customers/index.ts';
import { copyText, type Database } from '../db/index.ts';

/**
 * The segment facts (migration 016) kept by triggers against a recomputation from the sources after
 * each kind of write: inserts, COPY, an order's time and customer edited, lines deleted and changed,
 * a product moved to another category, returns, a merge, an erasure, TRUNCATE.
 */
describe('segment facts stay equal to a recomputation from orders and consents', () => {
  let database: Database;
  beforeAll(async () => {
    database = await openTestDatabase();
    const db = database.db;
    await db
      .insertInto('products')
      .values([
        { id: 1, sku: 'W1', name: 'red', category: 'wine', price: 100 },
        { id: 2, sku: 'W2', name: 'white', category: 'wine', price: 100 },
        { id: 3, sku: 'B1', name: 'novel', category: 'books', price: 100 },
        { id: 4, sku: 'T1', name: 'tea', category: 'tea', price: 100 },
      ])
      .execute();
    await sql`insert into customers (id, external_id) select g, 'C' || g from generate_series(1, 6) g`.execute(
      db,
    );
  });
  afterAll(async () => database.close());

  type Fact = {
    customer_id: number;
    category: string;
    first_at: Date;
    last_at: Date;
    orders: number;
    amount: string;
  };
  type InForce = { customer_id: number; channel: string; consent_id: number; granted: boolean };

  async function factsAndExpected(): Promise<{ facts: Fact[]; expected: Fact[] }> {
    const db = database.db;
    const facts = await sql<Fact>`
      select customer_id, category, first_at, last_at, orders, amount::text as amount
      from customer_category_facts order by customer_id, category`.execute(db);
    // Recomputed in TypeScript from the rows, not with the trigger's SQL.
    const orders = await db.selectFrom('orders').select(['id', 'customer_id', 'ordered_at']).execute();
    const lines = await db.selectFrom('order_lines').select(['order_id', 'product_id', 'amount']).execute();
    const products = await db.selectFrom('products').select(['id', 'category']).execute();
    const categoryOf = new Map(products.map((p) => [p.id, p.category]));
    // Facts are kept for customers who can be members: not merged away, not erased.
    const live = new Set(
      (await db.selectFrom('customers').select(['id', 'merged_into_customer_id', 'erased_at']).execute())
        .filter((c) => c.merged_into_customer_id === null && c.erased_at === null)
        .map((c) => c.id),
    );
    const orderOf = new Map(orders.map((o) => [o.id, o]));
    const byKey = new Map<string, { fact: Fact; orderIds: Set<number>; cents: number }>();
    for (const l of lines) {
      const order = orderOf.get(l.order_id)!;
      if (!live.has(order.customer_id)) continue;
      const category = categoryOf.get(l.product_id)!;
      const key = `${order.customer_id}\u0000${category}`;
      let entry = byKey.get(key);
      if (!entry) {
        entry = {
          fact: {
            customer_id: order.customer_id,
            category,
            first_at: order.ordered_at,
            last_at: order.ordered_at,
            orders: 0,
            amount: '',
          },
          orderIds: new Set(),
          cents: 0,
        };
        byKey.set(key, entry);
      }
      if (order.ordered_at < entry.fact.first_at) entry.fact.first_at = order.ordered_at;
      if (order.ordered_at > entry.fact.last_at) entry.fact.last_at = order.ordered_at;
      entry.orderIds.add(order.id);
      entry.cents += Math.round(Number(l.amount) * 100);
    }
    const expected = [...byKey.values()]
      .map((e) => ({ ...e.fact, orders: e.orderIds.size, amount: (e.cents / 100).toFixed(2) }))
      .sort((a, b) => a.customer_id - b.customer_id || (a.category < b.category ? -1 : 1));
    return { facts: facts.rows, expected };
  }

  async function consentsAndExpected(): Promise<{ inForce: InForce[]; expected: InForce[] }> {
    const db = database.db;
    const inForce = await sql<InForce>`
      select customer_id, channel, consent_id, granted from consents_in_force order by customer_id, channel`.execute(
      db,
    );
    const rows = await db
      .selectFrom('consents')
      .select(['id', 'customer_id', 'channel', 'granted', 'recorded_at'])
      .execute();
    const latest = new Map<string, (typeof rows)[number]>();
    for (const k of rows) {
      const key = `${k.customer_id}\u0000${k.channel}`;
      const seen = latest.get(key);
      if (
        !seen ||
        k.recorded_at > seen.recorded_at ||
        (k.recorded_at.getTime() === seen.recorded_at.getTime() && k.id > seen.id)
      ) {
        latest.set(key, k);
      }
    }
    const expected = [...latest.values()]
      .map((k) => ({ customer_id: k.customer_id, channel: k.channel, consent_id: k.id, granted: k.granted }))
      .sort((a, b) => a.customer_id - b.customer_id || (a.channel < b.channel ? -1 : 1));
    return { inForce: inForce.rows, expected };
  }

  async function expectExact(): Promise<void> {
    const { facts, expected } = await factsAndExpected();
    expect(facts).toEqual(expected);
    const consents = await consentsAndExpected();
    expect(consents.inForce).toEqual(consents.expected);
  }

  const day = (d: number) => new Date(Date.UTC(2026, 0, d, 9));

  async function order(customer: number, id: number, d: number, lines: [number, string][]): Promise<void> {
    await database.db
      .insertInto('orders')
      .values({ customer_id: customer, id, external_id: `O${id}`, ordered_at: day(d), total: '0' })
      .execute();
    if (lines.length > 0) {
      await database.db
        .insertInto('order_lines')
        .values(
          lines.map(([product, amount], n) => ({
            customer_id: customer,
            order_id: id,
            line_no: n + 1,
            product_id: product,
            quantity: 1,
            unit_price: amount,
            amount,
          })),
        )
        .execute();
    }
  }

  it('follows inserts, COPY, edits, deletes, returns, category changes, merge, erasure and truncate', async () => {
    const db = database.db;
    await order(1, 1, 1, [
      [1, '10.00'],
      [2, '5.50'],
      [3, '7.00'],
    ]);
    await order(1, 2, 5, [[1, '3.25']]);
    await order(2, 3, 3, [[3, '1.00']]);
    await order(3, 4, 4, []);
    await expectExact();

    // COPY, in one transaction with its orders, as imports and the benchmark load.
    await database.transaction(async (tx) => {
      await tx.copy(
        'orders',
        ['customer_id', 'id', 'external_id', 'ordered_at', 'total'],
        `3\t5\tO5\t${copyText(day(7))}\t0\n4\t6\tO6\t${copyText(day(8))}\t0\n`,
      );
      await tx.copy(
        'order_lines',
        ['customer_id', 'order_id', 'line_no', 'product_id', 'quantity', 'unit_price', 'amount'],
        '3\t5\t1\t4\t1\t2.00\t2.00\n3\t5\t2\t2\t1\t9.99\t9.99\n4\t6\t1\t1\t1\t4.00\t4.00\n',
      );
    });
    await expectExact();

    // An order's time edited; a line deleted; a line's product and amount changed.
    await db
      .updateTable('orders')
      .set({ ordered_at: day(20) })
      .where('id', '=', 1)
      .execute();
    await expectExact();
    await db.deleteFrom('order_lines').where('order_id', '=', 1).where('line_no', '=', 3).execute();
    await expectExact();
    await db
      .updateTable('order_lines')
      .set({ product_id: 4, amount: '8.00' })
      .where('order_id', '=', 2)
      .execute();
    await expectExact();
    // An order and its lines deleted.
    await db.deleteFrom('order_lines').where('order_id', '=', 3).execute();
    await db.deleteFrom('orders').where('id', '=', 3).execute();
    await expectExact();
    // A product moved to another category.
    await db.updateTable('products').set({ category: 'sparkling' }).where('id', '=', 2).execute();
    await expectExact();
    // A return changes nothing a purchase condition reads (it counts lines bought).
    await db
      .insertInto('returns')
      .values({
        customer_id: 1,
        external_id: 'R1',
        order_id: 1,
        product_id: 1,
        quantity: 1,
        amount: '10.00',
        returned_at: day(21),
      })
      .execute();
    await expectExact();

    // Consents: history rows, same time broken by id, a later withdrawal.
    await db
      .insertInto('consents')
      .values([
        { customer_id: 1, channel: 'email', granted: true, recorded_at: day(1), source: 't' },
        { customer_id: 1, channel: 'email', granted: false, recorded_at: day(2), source: 't' },
        { customer_id: 1, channel: 'sms', granted: true, recorded_at: day(2), source: 't' },
        { customer_id: 4, channel: 'email', granted: true, recorded_at: day(3), source: 't' },
        { customer_id: 4, channel: 'email', granted: false, recorded_at: day(3), source: 't' },
        { customer_id: 5, channel: 'email', granted: true, recorded_at: day(3), source: 't' },
      ])
      .execute();
    await expectExact();
    await db
      .updateTable('consents')
      .set({ recorded_at: day(9) })
      .where('customer_id', '=', 1)
      .where('granted', '=', true)
      .execute();
    await expectExact();

    // Merge: customer 3's orders, lines and consents move to 1; both records' facts follow.
    await mergeCustomers(database, 1, 3);
    await expectExact();
    expect(
      (
        await sql<{
          n: number;
        }>`select count(*)::int as n from customer_category_facts where customer_id = 3`.execute(db)
      ).rows[0]!.n,
    ).toBe(0);
    await mergeCustomers(database, 5, 4);
    await expectExact();

    // Erasure deletes the consent history, and with it the consents in force; the orders stay, but an
    // erased customer is never a member, so their category facts go.
    await eraseCustomer(database, CLI_ACTOR, 5, 'asked to be forgotten');
    await expectExact();
    expect(
      (
        await sql<{
          n: number;
        }>`select count(*)::int as n from consents_in_force where customer_id = 5`.execute(db)
      ).rows[0]!.n,
    ).toBe(0);
    expect(
      (
        await sql<{
          n: number;
        }>`select count(*)::int as n from customer_category_facts where customer_id = 5`.execute(db)
      ).rows[0]!.n,
    ).toBe(0);
    expect(
      (await sql<{ n: number }>`select count(*)::int as n from orders where customer_id = 5`.execute(db))
        .rows[0]!.n,
    ).toBeGreaterThan(0);

    await sql`truncate orders, order_lines, returns, consents cascade`.execute(db);
    await expectExact();
    expect((await factsAndExpected()).facts).toEqual([]);
  });
});
