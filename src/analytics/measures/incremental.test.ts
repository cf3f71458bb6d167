import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase } from '../../../test/helpers/database.ts';
import { mergeCustomers } from '../../customers/index.ts';
import type { Database } from '../../db/index.ts';
import { loadDemo } from '../../demo/load-demo.ts';
import { importRecords, iterableSource } from '../../importer/index.ts';
import { MEASURE_COLUMNS, type MeasuresSettingsInput, refreshMeasures } from './index.ts';

// The demo shop's data ends on 2026-10-31. The first refresh is as of 2026-10-29, so that moving the
// as-of day on also brings in orders and returns that were already stored but lay after the old as-of day.
const FIRST = '2026-10-29';

/** Every measures column of every row (refreshed_at, the time of the write, aside), by customer. */
async function allMeasures(database: Database): Promise<string[]> {
  const columns = sql.join(MEASURE_COLUMNS.map((c) => sql.ref(c)));
  const { rows } = await sql<Record<string, unknown>>`
    select ${columns} from customer_measures order by customer_id`.execute(database.db);
  return rows.map((r) => JSON.stringify(MEASURE_COLUMNS.map((c) => r[c])));
}

/** The counts per key value the cut points are read from. */
async function histograms(database: Database): Promise<string[]> {
  const { rows } = await sql<{ kind: number; x: string; n: number }>`
    select kind, x::text as x, n from measures_histograms order by kind, x`.execute(database.db);
  return rows.map((r) => `${r.kind}:${r.x}:${r.n}`);
}

const count = async (database: Database, query: ReturnType<typeof sql>) =>
  Number(((await query.execute(database.db)).rows[0] as { n: number }).n);

/**
 * A day of business on `day`: orders (with lines) by 1 % of the customers through the importer, one
 * order corrected (a line's quantity changes), a return, a new customer with a first order, a product
 * whose cost becomes known differently, and a customer merged into another.
 */
async function aDayOfBusiness(
  database: Database,
  day: string,
  tag: string,
  { preOrder = false } = {},
): Promise<void> {
  const customers = (
    await sql<{ external_id: string }>`
      select external_id from customers where merged_into_customer_id is null and external_id is not null
      order by id`.execute(database.db)
  ).rows.map((r) => r.external_id);
  const skus = (
    await sql<{ sku: string }>`select sku from products order by id limit 20`.execute(database.db)
  ).rows.map((r) => r.sku);
  const buyers = customers
    .filter((_, i) => i % 100 === 37 || i % 100 === 71)
    .slice(0, customers.length / 100);
  await importRecords(
    database,
    'customers',
    iterableSource('c', ['external_id', 'name'], [{ external_id: `NEW-${tag}`, name: 'New customer' }]),
  );
  const lines: Record<string, string>[] = [];
  [...buyers, `NEW-${tag}`].forEach((customer_id, i) => {
    for (let line = 1; line <= 1 + (i % 3); line++) {
      lines.push({
        order_id: `${tag}-${i}`,
        customer_id,
        ordered_at: `${day}T${String(9 + (i % 10)).padStart(2, '0')}:15:00Z`,
        sku: skus[(i + line) % skus.length]!,
        quantity: String(line),
        unit_price: String(1000 + 37 * i),
        line_no: String(line),
      });
    }
  });
  if (preOrder) {
    // An order dated two days after the as-of day (a pre-order): no refresh as of `day` may count it, so
    // every order line is joined to its order's date.
    const later = new Date(Date.parse(`${day}T10:00:00Z`) + 2 * 86_400_000).toISOString();
    lines.push({ ...lines[0]!, order_id: `${tag}-later`, ordered_at: later, line_no: '1' });
  }
  await importRecords(database, 'orders', iterableSource('o', Object.keys(lines[0]!), lines));
  // A correction: an older order of another customer gets a different quantity on its first line.
  const older = (
    await sql<{ id: number; customer_id: number }>`
      select o.id, o.customer_id from orders o join customers c on c.id = o.customer_id
      where c.merged_into_customer_id is null and o.ordered_at < ${FIRST}::date
      order by o.id desc limit 1`.execute(database.db)
  ).rows[0]!;
  await sql`update order_lines set quantity = quantity + 2, amount = unit_price * (quantity + 2)
    where customer_id = ${older.customer_id} and order_id = ${older.id} and line_no = 1`.execute(database.db);
  await sql`update orders o set total = (select sum(amount) from order_lines l where l.customer_id = o.customer_id and l.order_id = o.id)
    where o.customer_id = ${older.customer_id} and o.id = ${older.id}`.execute(database.db);
  // A return of something bought long ago.
  const returned = buyers[buyers.length - 1]!;
  await importRecords(
    database,
    'returns',
    iterableSource(
      'r',
      ['return_id', 'customer_id', 'sku', 'quantity', 'amount', 'returned_at'],
      [
        {
          return_id: `R-${tag}`,
          customer_id: returned,
          sku: skus[0]!,
          quantity: '1',
          amount: '500',
          returned_at: `${day}T16:00:00Z`,
        },
      ],
    ),
  );
  // A product's cost changes (everyone who ever bought it has a different margin) …
  await sql`update products set unit_cost = coalesce(unit_cost, 0) + 1
    where sku = ${skus[skus.length - 1]!}`.execute(database.db);
  // … and one customer turns out to be a duplicate of another: merged (orders, lines, returns move to the
  // survivor; the merged customer's measures row is left for the refresh to remove).
  const { rows: pair } = await sql<{ survivor: number; merged: number }>`
    select (select min(id) from customers)::int as survivor,
           (select id from customers where external_id = ${customers[500]!})::int as merged`.execute(
    database.db,
  );
  await mergeCustomers(database, pair[0]!.survivor, pair[0]!.merged);
}

describe('incremental refresh gives exactly the full refresh (demo shop, 2,000 customers)', () => {
  let database: Database;
  beforeAll(async () => {
    database = await openTestDatabase();
    await loadDemo(database, { customers: 2000, seed: 11 });
  }, 180_000);
  afterAll(async () => database.close());

  async function check(
    settings: MeasuresSettingsInput,
    from: string,
    to: string,
    tag: string,
    options: { preOrder?: boolean } = {},
  ) {
    const first = await refreshMeasures(database, { asOf: from, settings, full: true });
    expect(first.mode).toBe('full');
    const before = await allMeasures(database);
    await aDayOfBusiness(database, to, tag, options);
    const incremental = await refreshMeasures(database, { asOf: to, settings });
    expect(incremental.mode).toBe('incremental');
    const changed = await allMeasures(database);
    const histogram = await histograms(database);
    // Only the changed customers were read from the orders: a few percent, not everyone.
    expect(incremental.recomputed).toBeGreaterThanOrEqual(22);
    expect(incremental.recomputed).toBeLessThan(first.customers / 10);
    expect(changed).not.toEqual(before);

    const full = await refreshMeasures(database, { asOf: to, settings, full: true });
    expect(full.mode).toBe('full');
    // The full recompute from the orders finds nothing to change, and every column of every row agrees.
    expect(full.written).toEqual({ updated: 0, inserted: 0, deleted: 0 });
    expect(await allMeasures(database)).toEqual(changed);
    // The buyers counted per key value, kept in step by the incremental refresh, are the full recount.
    expect(await histograms(database)).toEqual(histogram);
    expect([full.customers, full.withPurchases]).toEqual([incremental.customers, incremental.withPurchases]);
    return incremental;
  }

  it('with the default settings (quintiles, composite tiers), the as-of day moving on', async () => {
    const result = await check({}, FIRST, '2026-11-01', 'D1', { preOrder: true });
    // Without the pre-order, the next case has no order after its as-of day (lines alone count).
    await sql`delete from order_lines where order_id in (select id from orders where external_id = 'D1-later')`.execute(
      database.db,
    );
    const gone = await sql`delete from orders where external_id = 'D1-later'`.execute(database.db);
    expect(Number(gone.numAffectedRows)).toBe(1);
    // The new customer came in, the merged one went out.
    expect(result.written.inserted).toBe(1);
    expect(result.written.deleted).toBe(1);
    console.log(`incremental on ${database.engine}:`, result.recomputed, result.written, result.steps);
  });

  it('with cut points and spend-only tiers, on the same as-of day', async () => {
    const settings: MeasuresSettingsInput = {
      rfm: {
        recencyDays: [30, 90, 180, 365],
        frequency: [2, 3, 5, 10],
        monetary: [5000, 20000, 50000, 100000],
      },
      tiers: { spendOnly: true, loyalShare: 0.1 },
    };
    await check(settings, '2026-11-02', '2026-11-02', 'D2');
  });

  it('does nothing when nothing changed, and is full when it cannot continue', async () => {
    const again = await refreshMeasures(database, { asOf: '2026-11-02' });
    expect([again.mode, again.recomputed]).toEqual(['full', again.customers]);
    expect(again.reason).toMatch(/settings differ/);
    const same = await refreshMeasures(database, { asOf: '2026-11-02' });
    expect([same.mode, same.recomputed, same.written]).toEqual([
      'incremental',
      0,
      { updated: 0, inserted: 0, deleted: 0 },
    ]);
    const earlier = await refreshMeasures(database, { asOf: '2026-10-15' });
    expect([earlier.mode, earlier.reason]).toEqual([
      'full',
      'as-of 2026-10-15 is before the last refresh (2026-11-02)',
    ]);
    // Rows deleted behind the refresh's back: the next one cannot trust the table and recomputes all.
    await sql`delete from customer_measures where customer_id = (select min(customer_id) from customer_measures)`.execute(
      database.db,
    );
    const repaired = await refreshMeasures(database, { asOf: '2026-10-15' });
    expect([repaired.mode, repaired.written.inserted]).toEqual(['full', 1]);
    expect(repaired.reason).toMatch(/outside a refresh/);
    expect(await count(database, sql`select count(*)::int as n from measures_dirty_customers`)).toBe(0);
    // A row changed in place behind its back (the row count stays): the same, and the row is put right.
    const victim = await count(
      database,
      sql`select min(customer_id)::int as n from customer_measure_rows where orders_count > 0`,
    );
    const { rows: before } = await sql<{ tier: string; spend: string }>`
      select tier, total_spend::text as spend from customer_measure_rows where customer_id = ${victim}`.execute(
      database.db,
    );
    await sql`update customer_measure_rows set total_spend = total_spend + 1, tier = 'lapsed' where customer_id = ${victim}`.execute(
      database.db,
    );
    const fixed = await refreshMeasures(database, { asOf: '2026-10-15' });
    expect([fixed.mode, fixed.written.updated]).toEqual(['full', 1]);
    expect(fixed.reason).toMatch(/outside a refresh/);
    const { rows: after } = await sql<{ tier: string; spend: string }>`
      select tier, total_spend::text as spend from customer_measure_rows where customer_id = ${victim}`.execute(
      database.db,
    );
    expect(after).toEqual(before);
    // And with nothing written since, the next one continues.
    expect((await refreshMeasures(database, { asOf: '2026-10-15' })).mode).toBe('incremental');
  });

  it("within a month, on the month's cut points: the days passing lapse customers and end their newness", async () => {
    // November's cut points (default settings) were fixed by the first case's incremental refresh; the last
    // refresh (2026-10-15) used October's.
    const first = await refreshMeasures(database, { asOf: '2026-11-03' });
    expect([first.mode, first.reason]).toEqual([
      'full',
      "the cut points of 2026-11 (fixed as of 2026-11-01) differ from the last refresh's",
    ]);
    const tiersBefore = new Map(
      (
        await sql<{ customer_id: number; tier: string | null }>`
          select customer_id::int as customer_id, tier from customer_measures`.execute(database.db)
      ).rows.map((r) => [r.customer_id, r.tier]),
    );
    await aDayOfBusiness(database, '2026-11-28', 'D3');
    const incremental = await refreshMeasures(database, { asOf: '2026-11-28' });
    expect([incremental.mode, first.cutPointsAsOf, incremental.cutPointsAsOf]).toEqual([
      'incremental',
      '2026-11-01',
      '2026-11-01',
    ]);
    const steps = new Map(incremental.steps.map((s) => [s.step, s.rows]));
    expect(steps.has('moved by the cut points')).toBe(false);
    // 25 days on: customers without a new order whose last purchase passed 365 days (lapsed) or whose
    // first passed 90 (no longer new) — both kinds must be among the rows the day moved.
    const { rows: moved } = await sql<{ from: string; to: string; n: number }>`
      select t.before as from, m.tier as to, count(*)::int as n
      from customer_measures m
      join (select unnest(${[...tiersBefore.keys()]}::int8[]) as customer_id,
                   unnest(${[...tiersBefore.values()]}::text[]) as before) t on t.customer_id = m.customer_id
      where m.tier is distinct from t.before and m.last_purchase_at < '2026-11-04'
      group by 1, 2 order by 1, 2`.execute(database.db);
    expect(moved.some((r) => r.to === 'lapsed')).toBe(true);
    expect(moved.some((r) => r.from === 'new' && r.to === 'regular')).toBe(true);
    expect(steps.get('moved by the day')).toBeGreaterThanOrEqual(moved.reduce((n, r) => n + r.n, 0));
    const changed = await allMeasures(database);
    // The full refresh (on the same cut points) finds nothing to change.
    const full = await refreshMeasures(database, { asOf: '2026-11-28', full: true });
    expect(full.written).toEqual({ updated: 0, inserted: 0, deleted: 0 });
    expect(await allMeasures(database)).toEqual(changed);
  });
});
