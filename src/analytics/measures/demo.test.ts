import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase } from '../../../test/helpers/database.ts';
import type { Database } from '../../db/index.ts';
import { loadDemo } from '../../demo/load-demo.ts';
import { refreshMeasures, tierShares } from './index.ts';
import { snapshotTiers } from './snapshots.ts';

const AS_OF = '2026-10-31';
const DAY_MS = 86_400_000;

/** Exact money: a numeric string as integer cents. */
const cents = (money: string): bigint => BigInt(money.replace('.', '').replace(/^(-?)0+(?=\d)/, '$1'));
const money = (value: bigint): string => {
  const sign = value < 0n ? '-' : '';
  const abs = (value < 0n ? -value : value).toString().padStart(3, '0');
  return `${sign}${abs.slice(0, -2)}.${abs.slice(-2)}`;
};

type Customer = { id: number; orders: number; spend: bigint; first: number; last: number };

/** Cents rounded down to three significant digits. */
function band(cents: bigint): bigint {
  if (cents < 1000n) return cents;
  const unit = 10n ** BigInt(cents.toString().length - 3);
  return (cents / unit) * unit;
}

/** The values at the 1-based positions ⌈j·n/parts⌉ (j = 1 … parts − 1) of the values sorted ascending. */
function cutValues<T>(values: T[], parts: number, compare: (a: T, b: T) => number): T[] {
  const sorted = [...values].sort(compare);
  return Array.from(
    { length: parts - 1 },
    (_, i) => sorted[Math.ceil(((i + 1) * sorted.length) / parts) - 1]!,
  );
}

/** How many of the cut values `x` is above. */
const above = <T>(x: T, cuts: T[]) => cuts.filter((c) => x > c).length;

describe('measures on 2,000 demo customers against a plain TypeScript computation', () => {
  let database: Database;
  const expected = new Map<
    number,
    { r: number; f: number; m: number; spend: string; orders: number; tier: string }
  >();
  beforeAll(async () => {
    database = await openTestDatabase();
    await loadDemo(database, { customers: 2000, seed: 3 });
    const { rows } = await sql<{ customer_id: number; ordered_at: Date; total: string }>`
      select customer_id, ordered_at, total::text as total from orders`.execute(database.db);
    const end = Date.parse(`${AS_OF}T00:00:00Z`);
    const byCustomer = new Map<number, Customer>();
    for (const o of rows) {
      const t = o.ordered_at.getTime();
      if (t >= end + DAY_MS) continue;
      const day = Math.floor(t / DAY_MS) * DAY_MS;
      const c = byCustomer.get(o.customer_id) ?? {
        id: o.customer_id,
        orders: 0,
        spend: 0n,
        first: day,
        last: day,
      };
      c.orders += 1;
      c.spend += cents(o.total);
      c.first = Math.min(c.first, day);
      c.last = Math.max(c.last, day);
      byCustomer.set(o.customer_id, c);
    }
    const buyers = [...byCustomer.values()];
    const recency = (c: Customer) => (end - c.last) / DAY_MS;
    const tenure = (c: Customer) => (end - c.first) / DAY_MS;
    const num = (a: number, b: number) => a - b;
    const big = (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0);
    // RFM: quintile cut values (positions ⌈k·n/5⌉); score = 1 + the cut values the customer is above.
    // R on the last purchase day, F on orders, M on the spend band.
    const rCuts = cutValues(
      buyers.map((c) => c.last),
      5,
      num,
    );
    const fCuts = cutValues(
      buyers.map((c) => c.orders),
      5,
      num,
    );
    const mCuts = cutValues(
      buyers.map((c) => band(c.spend)),
      5,
      big,
    );
    // Tiers: lapsed = no purchase in 365 days; the rest ranked by 0.6·spend + 0.2·tenure + 0.2·orders,
    // each the share of the 99 percentile cut values (over all buyers) the customer is above; ties by spend,
    // then id; top round(6 %) loyal, up to round(20 %) semi-loyal, then new (< 90 days), regular.
    const sCuts = cutValues(
      buyers.map((c) => band(c.spend)),
      100,
      big,
    );
    const tCuts = cutValues(
      buyers.map((c) => tenure(c)),
      100,
      num,
    );
    const oCuts = cutValues(
      buyers.map((c) => c.orders),
      100,
      num,
    );
    const active = buyers.filter((c) => recency(c) < 365);
    const scored = active.map((c) => ({
      c,
      s:
        (0.6 * above(band(c.spend), sCuts) + 0.2 * above(tenure(c), tCuts) + 0.2 * above(c.orders, oCuts)) /
        99,
    }));
    scored.sort(
      (a, b) => b.s - a.s || (b.c.spend > a.c.spend ? 1 : b.c.spend < a.c.spend ? -1 : 0) || a.c.id - b.c.id,
    );
    const loyal = Math.round((active.length * 6) / 100);
    const semi = Math.round((active.length * 20) / 100);
    const tiers = new Map<number, string>(buyers.map((c) => [c.id, 'lapsed']));
    scored.forEach(({ c }, i) => {
      tiers.set(c.id, i < loyal ? 'loyal' : i < semi ? 'semi_loyal' : tenure(c) < 90 ? 'new' : 'regular');
    });
    const r = new Map(buyers.map((c) => [c.id, 1 + above(c.last, rCuts)]));
    const f = new Map(buyers.map((c) => [c.id, 1 + above(c.orders, fCuts)]));
    const m = new Map(buyers.map((c) => [c.id, 1 + above(band(c.spend), mCuts)]));
    for (const c of buyers) {
      expected.set(c.id, {
        r: r.get(c.id)!,
        f: f.get(c.id)!,
        m: m.get(c.id)!,
        spend: money(c.spend),
        orders: c.orders,
        tier: tiers.get(c.id)!,
      });
    }
  }, 120_000);
  afterAll(async () => database.close());

  it('gives every customer the same scores, spend and tier', async () => {
    const result = await refreshMeasures(database, { asOf: AS_OF });
    console.log(
      `refresh of ${result.customers} demo customers on ${database.engine}: ${result.seconds} s`,
      result.steps,
    );
    expect(result.withPurchases).toBe(expected.size);
    const rows = await database.db
      .selectFrom('customer_measures')
      .select(['customer_id', 'r_score', 'f_score', 'm_score', 'total_spend', 'orders_count', 'tier'])
      .where('orders_count', '>', 0)
      .execute();
    const actual = new Map(
      rows.map((row) => [
        row.customer_id,
        {
          r: row.r_score,
          f: row.f_score,
          m: row.m_score,
          spend: row.total_spend,
          orders: row.orders_count,
          tier: row.tier,
        },
      ]),
    );
    expect(actual).toEqual(expected);
    const counts = (tier: string) => [...expected.values()].filter((e) => e.tier === tier).length;
    expect(counts('loyal')).toBeGreaterThan(0);
  });

  it('snapshots the same tiers at the month end', async () => {
    await snapshotTiers(database, { from: '2026-10-01', to: AS_OF });
    const shares = await tierShares(database);
    const loyal = shares.find((s) => s.tier === 'loyal')!;
    expect(loyal.customers).toBe([...expected.values()].filter((e) => e.tier === 'loyal').length);
    expect(loyal.customerShare).toBe(loyal.customers / expected.size);
  });
});
