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

/** PostgreSQL's ntile(n) for the row at `index` of `count`: the first count % n buckets get one extra row. */
function ntile(index: number, count: number, buckets: number): number {
  const size = Math.floor(count / buckets);
  const extra = count % buckets;
  const big = extra * (size + 1);
  return index < big ? Math.floor(index / (size + 1)) + 1 : extra + Math.floor((index - big) / size) + 1;
}

type Customer = { id: number; orders: number; spend: bigint; first: number; last: number };

/** percent_rank: (number of values strictly below) / (n − 1). */
function percentRanks(values: number[]): number[] {
  const sorted = [...values].sort((a, b) => a - b);
  const below = (v: number) => {
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((sorted[mid] as number) < v) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  return values.map((v) => (values.length > 1 ? below(v) / (values.length - 1) : 0));
}

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
    const score = (order: (a: Customer, b: Customer) => number) => {
      const sorted = [...buyers].sort((a, b) => order(a, b) || a.id - b.id);
      return new Map(sorted.map((c, i) => [c.id, ntile(i, sorted.length, 5)]));
    };
    const r = score((a, b) => recency(b) - recency(a));
    const f = score((a, b) => a.orders - b.orders);
    const m = score((a, b) => (a.spend < b.spend ? -1 : a.spend > b.spend ? 1 : 0));
    // Tiers: lapsed = no purchase in 365 days; the rest ranked by 0.6·spend + 0.2·tenure + 0.2·orders
    // (percentile ranks); top round(6 %) loyal, up to round(20 %) semi-loyal, then new (< 90 days), regular.
    const active = buyers.filter((c) => recency(c) < 365);
    const ps = percentRanks(active.map((c) => Number(c.spend)));
    const pt = percentRanks(active.map(tenure));
    const po = percentRanks(active.map((c) => c.orders));
    const scored = active.map((c, i) => ({
      c,
      s: 0.6 * (ps[i] as number) + 0.2 * (pt[i] as number) + 0.2 * (po[i] as number),
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
