import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase } from '../../test/helpers/database.ts';
import { refreshMeasures } from '../analytics/measures/index.ts';
import { CLI_ACTOR } from '../auth/index.ts';
import { eraseCustomer, mergeCustomers } from '../customers/index.ts';
import type { Database } from '../db/index.ts';
import {
  countSegment,
  evaluateMembers,
  loadCustomerRows,
  memberCountQuery,
  memberIdsQuery,
  parseRules,
  withDatabaseFacts,
} from './index.ts';

/**
 * The counts that start from an index range instead of every customer (src/segments/compile.ts,
 * membersFrom): from the category facts (a customer has a row per category: with several named, a buyer
 * of two must count once) and from the measures rows (which an erased customer keeps). Fixed cases the
 * random trees of the property test reach rarely: a buyer of two of the named categories, an erased and
 * a merged customer with measures, each checked against the plain evaluator.
 */
describe('counts started from the facts or the measures equal the evaluator', () => {
  let database: Database;
  const asOf = new Date('2026-06-30T23:59:59.999Z');
  beforeAll(async () => {
    database = await openTestDatabase();
    const db = database.db;
    await db
      .insertInto('products')
      .values([
        { id: 1, sku: 'W1', name: 'red', category: 'wine', price: 100 },
        { id: 2, sku: 'B1', name: 'novel', category: 'books', price: 100 },
      ])
      .execute();
    // 1–8 customers; even ids tagged vip; 3 asked not to be contacted.
    await sql`insert into customers (id, external_id, tags, do_not_contact)
      select g, 'C' || g, case when g % 2 = 0 then '{vip}'::text[] else '{}' end, g = 3
      from generate_series(1, 8) g`.execute(db);
    // Everyone buys wine; 1, 2, 5, 6 books too (in the same and in another order); 1–4 buy three times.
    await sql`insert into orders (id, customer_id, external_id, ordered_at, total)
      select c * 10 + k, c, 'O' || c || '-' || k, timestamptz '2026-06-01' - (c * 20 + k * 3) * interval '1 day', 200
      from generate_series(1, 8) c, generate_series(1, 3) k where k = 1 or c <= 4`.execute(db);
    await sql`insert into order_lines (customer_id, order_id, line_no, product_id, quantity, unit_price, amount)
      select o.customer_id, o.id, 1, 1, 1, 100, 100 from orders o`.execute(db);
    await sql`insert into order_lines (customer_id, order_id, line_no, product_id, quantity, unit_price, amount)
      select o.customer_id, o.id, 2, 2, 1, 100, 100 from orders o where o.customer_id in (1, 2, 5, 6)`.execute(
      db,
    );
    await refreshMeasures(database, { asOf: '2026-06-30', full: true });
    // After the refresh: 6 erased (keeps its measures row), 8 merged into 7.
    await eraseCustomer(database, CLI_ACTOR, 6, 'asked to be forgotten');
    await mergeCustomers(database, 7, 8);
    await refreshMeasures(database, { asOf: '2026-06-30' });
  });
  afterAll(async () => database.close());

  const trees = {
    'two categories and a tag': {
      op: 'and',
      children: [
        { kind: 'purchased', categories: ['wine', 'books'] },
        { kind: 'tag', tags: ['vip'] },
      ],
    },
    'one category, not do-not-contact': {
      op: 'and',
      children: [
        { kind: 'purchased', categories: ['books'] },
        { op: 'not', child: { kind: 'do_not_contact' } },
      ],
    },
    'two categories, lately': { kind: 'purchased', categories: ['wine', 'books'], withinDays: 365 },
    'a tier': { kind: 'tier', tiers: ['loyal', 'semi_loyal', 'regular', 'new', 'lapsed'] },
    'measures and a tag': {
      op: 'and',
      children: [
        { kind: 'measure', measure: 'total_spend', min: 100 },
        { kind: 'purchased', minOrders: 1 },
        { kind: 'tag', tags: ['vip'] },
      ],
    },
    'lapsed regulars': {
      op: 'and',
      children: [
        { kind: 'purchased', minOrders: 3 },
        { kind: 'last_purchase', olderThanDays: 30 },
      ],
    },
  } as const;

  it('takes the fast paths', async () => {
    const facts = await withDatabaseFacts(database, { asOf, actor: CLI_ACTOR });
    expect(facts.measuresCoverOrders && !facts.ordersAfterAsOf).toBe(true);
    const text = (tree: unknown) => memberCountQuery(parseRules(tree), facts).compile(database.db).sql;
    expect(text(trees['two categories and a tag'])).toContain(
      'customers c where c.id in (select f.customer_id',
    );
    expect(text(trees['one category, not do-not-contact'])).toContain(
      'customers c where c.id in (select f.customer_id',
    );
    expect(text(trees['a tier'])).toContain('from customer_measures m where');
    expect(text(trees['lapsed regulars'])).toContain('from customer_measures m where');
  });

  for (const [name, tree] of Object.entries(trees)) {
    it(name, async () => {
      const rules = parseRules(tree);
      const expected = evaluateMembers(await loadCustomerRows(database), rules, { asOf, storeIds: null });
      expect(expected.length).toBeGreaterThan(0);
      const scope = await withDatabaseFacts(database, { asOf, actor: CLI_ACTOR });
      const { rows } = await memberIdsQuery(rules, scope).execute(database.db);
      expect(rows.map((r) => Number(r.id)).sort((a, b) => a - b)).toEqual(expected);
      expect(await countSegment(database, rules, { asOf, actor: CLI_ACTOR })).toBe(expected.length);
    });
  }
});
