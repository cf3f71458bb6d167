import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase } from '../../../test/helpers/database.ts';
import type { Database } from '../../db/index.ts';
import { loadDemo } from '../../demo/load-demo.ts';
import {
  acquisitionReport,
  atRiskCustomers,
  cohortReport,
  paretoReport,
  profitability,
  repeatDrivers,
} from './index.ts';

/** An exact decimal string as integer cents (the SQL side's numeric(14,2) values). */
function cents(value: string): bigint {
  const negative = value.startsWith('-');
  const [whole, fraction = ''] = (negative ? value.slice(1) : value).split('.');
  const result = BigInt(whole!) * 100n + BigInt(`${fraction}00`.slice(0, 2));
  return negative ? -result : result;
}

const AS_OF = '2026-10-31';

/**
 * The demo retailer's ground truth (src/demo/index.ts): contact-lens wearers re-order their lenses every
 * ≈ 90 days, glasses wearers buy a frame every ≈ 730 days; and second, plain TypeScript computations over
 * the raw rows for figures the SQL computes.
 */
describe('relationship reports on the demo retailer (3,000 customers)', () => {
  let database: Database;
  beforeAll(async () => {
    database = await openTestDatabase();
    await loadDemo(database, { customers: 3000, seed: 7 });
  }, 120_000);
  afterAll(async () => database.close());

  it('repeat drivers recover the lens cycle (≈ 90 days) and a much longer glasses cycle', async () => {
    const report = await repeatDrivers(database, { asOf: AS_OF });
    const lens = report.categories.find((c) => c.category === 'contact_lenses')!;
    const glasses = report.categories.find((c) => c.category === 'glasses')!;
    // A wearer's own lenses come back every 90 days (Gamma gaps, CV 1/4): tolerance 75–105 days.
    expect(lens.sameProductInterval.medianDays).toBeGreaterThanOrEqual(75);
    expect(lens.sameProductInterval.medianDays).toBeLessThanOrEqual(105);
    expect(lens.sameProductInterval.gaps).toBeGreaterThan(200);
    // Any lens purchase to the next: also ordinary (BG/NBD) visits that include lenses, so somewhat
    // shorter than the cycle, but still a cycle of months.
    expect(lens.repurchaseInterval.medianDays).toBeGreaterThanOrEqual(60);
    expect(lens.repurchaseInterval.medianDays).toBeLessThanOrEqual(105);
    // Glasses: far longer than lenses (the truth is 730 days, shortened by ordinary visits with frames
    // and the three-year window).
    expect(glasses.repurchaseInterval.medianDays).toBeGreaterThan(180);
    expect(glasses.repurchaseInterval.medianDays!).toBeGreaterThan(2 * lens.repurchaseInterval.medianDays!);
    // Lenses as a first purchase bring people back more often than the average first purchase.
    expect(lens.cameBack365Index).toBeGreaterThan(1.1);
    expect(lens.medianDaysToNext).toBeLessThanOrEqual(105);
    // Every product sold shows up, also those never part of a first purchase (with no first buyers).
    const sold = await sql<{ n: number }>`select count(distinct product_id) as n from order_lines`.execute(
      database.db,
    );
    expect(report.products).toHaveLength(sold.rows[0]!.n);
    // The average row counts every buyer once.
    const buyers = await sql<{ n: number }>`select count(distinct customer_id) as n from orders`.execute(
      database.db,
    );
    expect(report.average.customers).toBe(buyers.rows[0]!.n);
  });

  it('Pareto figures equal a plain TypeScript computation over the raw orders', async () => {
    const report = await paretoReport(database);
    const rows = await database.db.selectFrom('orders').select(['customer_id', 'total']).execute();
    const spend = new Map<number, bigint>();
    for (const r of rows) spend.set(r.customer_id, (spend.get(r.customer_id) ?? 0n) + cents(String(r.total)));
    const sorted = [...spend.values()].sort((a, b) => (a > b ? -1 : a < b ? 1 : 0));
    const total = sorted.reduce((a, b) => a + b, 0n);
    const top = (pct: number) =>
      Number(
        sorted.slice(0, Math.max(1, Math.ceil((sorted.length * pct) / 100))).reduce((a, b) => a + b, 0n),
      ) / Number(total);
    expect(report.customers).toBe(sorted.length);
    expect(cents(report.revenue)).toBe(total);
    expect(report.topShares.top1).toBeCloseTo(top(1), 12);
    expect(report.topShares.top20).toBeCloseTo(top(20), 12);
    let running = 0n;
    let rank = 0;
    while (running * 10n < total * 8n) running += sorted[rank++]!;
    expect(report.customersFor80PercentOfRevenue).toBeCloseTo(rank / sorted.length, 12);
    // ~100 points, rising, from (0, 0) to (1, 1), bending above the diagonal.
    expect(report.curve).toHaveLength(101);
    expect(report.curve.at(-1)).toEqual({ customerShare: 1, revenueShare: 1 });
    for (let i = 1; i < report.curve.length; i++) {
      expect(report.curve[i]!.revenueShare).toBeGreaterThanOrEqual(report.curve[i - 1]!.revenueShare);
      expect(report.curve[i]!.revenueShare).toBeGreaterThanOrEqual(report.curve[i]!.customerShare - 1e-12);
    }
  });

  it('cohort cells add up to every buyer and every order', async () => {
    const report = await cohortReport(database, { months: 48, asOf: AS_OF });
    const totals = await sql<{ buyers: number; revenue: string }>`
      select count(distinct customer_id) as buyers, sum(total)::text as revenue from orders`.execute(
      database.db,
    );
    expect(report.cohorts.reduce((n, c) => n + c.customers, 0)).toBe(totals.rows[0]!.buyers);
    expect(report.cohorts.every((c) => c.months[0]!.retention === 1)).toBe(true);
    const revenue = report.cohorts.flatMap((c) => c.months).reduce((sum, m) => sum + cents(m.revenue), 0n);
    expect(revenue).toBe(cents(totals.rows[0]!.revenue));
  });

  it('profitability: the parts add up exactly and product cost equals the raw lines × unit cost', async () => {
    const report = await profitability(database, { limit: 5 });
    const t = report.totals;
    expect(cents(t.profit)).toBe(
      cents(t.revenue) - cents(t.productCost) - cents(t.returns) - cents(t.touchCost) - cents(t.serviceCost),
    );
    const lines = await sql<{ quantity: number; unit_cost: string | null }>`
      select l.quantity, p.unit_cost::text as unit_cost from order_lines l join products p on p.id = l.product_id`.execute(
      database.db,
    );
    const cost = lines.rows.reduce(
      (sum, l) => sum + (l.unit_cost === null ? 0n : BigInt(l.quantity) * cents(l.unit_cost)),
      0n,
    );
    expect(cents(t.productCost)).toBe(cost);
    const profits = report.list.map((c) => cents(c.profit));
    expect(profits).toEqual([...profits].sort((a, b) => (a > b ? -1 : a < b ? 1 : 0)));
  });

  it('acquisition sources cover every customer and all revenue', async () => {
    const report = await acquisitionReport(database, { top: 5 });
    const all = await sql<{ customers: number; revenue: string }>`
      select (select count(*) from customers) as customers,
             (select sum(total) from orders)::text as revenue`.execute(database.db);
    expect(report.sources.reduce((n, s) => n + s.customers, 0)).toBe(all.rows[0]!.customers);
    expect(report.sources.reduce((sum, s) => sum + cents(s.revenue), 0n)).toBe(cents(all.rows[0]!.revenue));
    expect(report.referrers.length).toBeGreaterThan(0);
  });

  it('at-risk customers are overdue by their own raw purchase days', async () => {
    const list = await atRiskCustomers(database, { asOf: AS_OF, limit: 20 });
    expect(list.length).toBe(20);
    const first = list[0]!;
    const orders = await database.db
      .selectFrom('orders')
      .select('ordered_at')
      .where('customer_id', '=', first.customerId)
      .execute();
    const days = [...new Set(orders.map((o) => new Date(o.ordered_at).toISOString().slice(0, 10)))].sort();
    const gaps = days.slice(1).map((d, i) => (Date.parse(d) - Date.parse(days[i]!)) / 86_400_000);
    gaps.sort((a, b) => a - b);
    const mid = gaps.length / 2;
    const median = gaps.length % 2 ? gaps[Math.floor(mid)]! : (gaps[mid - 1]! + gaps[mid]!) / 2;
    expect(first.purchaseDays).toBe(days.length);
    expect(first.medianGapDays).toBe(median);
    expect(first.daysSinceLastPurchase).toBe((Date.parse(AS_OF) - Date.parse(days.at(-1)!)) / 86_400_000);
    expect(first.daysSinceLastPurchase).toBeGreaterThan(1.5 * median);
    for (let i = 1; i < list.length; i++) expect(list[i]!.score).toBeLessThanOrEqual(list[i - 1]!.score);
  });
});
