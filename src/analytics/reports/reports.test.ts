import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase } from '../../../test/helpers/database.ts';
import type { Database } from '../../db/index.ts';
import { importRecords, iterableSource } from '../../importer/index.ts';
import {
  acquisitionReport,
  atRiskCustomers,
  churnReport,
  cohortReport,
  paretoReport,
  profitability,
  repeatDrivers,
} from './index.ts';

type Rec = Record<string, string>;

async function load(
  database: Database,
  kind: Parameters<typeof importRecords>[1],
  rows: Rec[],
): Promise<void> {
  const result = await importRecords(database, kind, iterableSource(kind, Object.keys(rows[0]!), rows));
  expect(result.errors.slice(0, 3)).toEqual([]);
}

/**
 * A hand-worked shop (all times noon UTC, days in UTC). Spends: A 1000, B 500, C 250, D 150, E 100, F none.
 * A: lens 01-10, 04-10, 07-09 (100 each, gaps 90, 90), glasses 10-07 (700); store S1; walk-in.
 * B: glasses 01-20 (500) at S2, returned in full; advert.
 * C: misc 02-05 (50) and 02-20 (100) at S1, lens 03-01 (100) at S2; walk-in.
 * D: lens 02-14 (150) at S1, 50 returned; referred by C.   E: misc 01-25 (100) at S2; referred by A.
 * F: no orders, one touch; referred by A.
 */
describe('relationship reports on a hand-worked shop', () => {
  let database: Database;
  let s1 = 0;
  beforeAll(async () => {
    database = await openTestDatabase();
    await load(database, 'products', [
      { sku: 'LENS', name: 'Lens', category: 'lens', price: '100', unit_cost: '40' },
      { sku: 'GL', name: 'Glasses', category: 'glasses', price: '1000', unit_cost: '300' },
      { sku: 'MISC', name: 'Misc', category: 'misc', price: '10', unit_cost: '' },
    ]);
    await load(database, 'stores', [
      { code: 'S1', name: 'One' },
      { code: 'S2', name: 'Two' },
    ]);
    await load(database, 'customers', [
      { external_id: 'A', acquisition_source: 'walk_in', referred_by: '' },
      { external_id: 'B', acquisition_source: 'advert', referred_by: '' },
      { external_id: 'C', acquisition_source: 'walk_in', referred_by: '' },
    ]);
    await load(database, 'customers', [
      { external_id: 'D', acquisition_source: 'referral', referred_by: 'C' },
      { external_id: 'E', acquisition_source: 'referral', referred_by: 'A' },
      { external_id: 'F', acquisition_source: 'referral', referred_by: 'A' },
    ]);
    const orders = [
      ['A1', 'A', 'S1', '2025-01-10', 'LENS', '1', '100'],
      ['A2', 'A', 'S1', '2025-04-10', 'LENS', '1', '100'],
      ['A3', 'A', 'S1', '2025-07-09', 'LENS', '1', '100'],
      ['A4', 'A', 'S1', '2025-10-07', 'GL', '1', '700'],
      ['B1', 'B', 'S2', '2025-01-20', 'GL', '1', '500'],
      ['C1', 'C', 'S1', '2025-02-05', 'MISC', '5', '10'],
      ['C2', 'C', 'S1', '2025-02-20', 'MISC', '10', '10'],
      ['C3', 'C', 'S2', '2025-03-01', 'LENS', '1', '100'],
      ['D1', 'D', 'S1', '2025-02-14', 'LENS', '1', '150'],
      ['E1', 'E', 'S2', '2025-01-25', 'MISC', '10', '10'],
    ].map(([order_id, customer_id, store, day, sku, quantity, unit_price]) => ({
      order_id: order_id!,
      customer_id: customer_id!,
      store: store!,
      ordered_at: `${day}T12:00:00Z`,
      sku: sku!,
      quantity: quantity!,
      unit_price: unit_price!,
    }));
    await load(database, 'orders', orders);
    await load(database, 'returns', [
      {
        return_id: 'R1',
        customer_id: 'B',
        sku: 'GL',
        quantity: '1',
        amount: '500',
        returned_at: '2025-01-25T12:00:00Z',
      },
      {
        return_id: 'R2',
        customer_id: 'D',
        sku: 'LENS',
        quantity: '1',
        amount: '50',
        returned_at: '2025-02-20T12:00:00Z',
      },
    ]);
    await load(database, 'touches', [
      { touch_id: 'T1', customer_id: 'A', channel: 'letter', cost: '84.50', sent_at: '2025-03-01T12:00:00Z' },
      { touch_id: 'T2', customer_id: 'A', channel: 'dm', cost: '15.25', sent_at: '2025-05-01T12:00:00Z' },
      { touch_id: 'T3', customer_id: 'F', channel: 'letter', cost: '120', sent_at: '2025-05-01T12:00:00Z' },
    ]);
    await load(database, 'interactions', [
      {
        interaction_id: 'I1',
        customer_id: 'A',
        kind: 'call',
        channel: 'phone',
        duration_seconds: '1800',
        opened_at: '2025-03-01T12:00:00Z',
      },
      {
        interaction_id: 'I2',
        customer_id: 'C',
        kind: 'inquiry',
        channel: 'store',
        duration_seconds: '600',
        opened_at: '2025-03-01T12:00:00Z',
      },
      {
        interaction_id: 'I3',
        customer_id: 'B',
        kind: 'complaint',
        channel: 'phone',
        duration_seconds: '100',
        opened_at: '2025-02-01T12:00:00Z',
      },
    ]);
    const store = await database.db
      .selectFrom('stores')
      .select('id')
      .where('code', '=', 'S1')
      .executeTakeFirstOrThrow();
    s1 = Number(store.id);
  });
  afterAll(async () => database.close());

  it('Pareto: the curve, top shares and the customers behind 80 % (overall, per store, per period)', async () => {
    const all = await paretoReport(database);
    expect(all.customers).toBe(5);
    expect(all.revenue).toBe('2000.00');
    // Sorted spends 1000, 500, 250, 150, 100 of 2000: running shares 0.5, 0.75, 0.875, 0.95, 1.
    expect(all.curve).toEqual([
      { customerShare: 0, revenueShare: 0 },
      { customerShare: 0.2, revenueShare: 0.5 },
      { customerShare: 0.4, revenueShare: 0.75 },
      { customerShare: 0.6, revenueShare: 0.875 },
      { customerShare: 0.8, revenueShare: 0.95 },
      { customerShare: 1, revenueShare: 1 },
    ]);
    // Top 1/5/10/20 % of 5 customers are all ceil(…) = 1 customer: A, 1000 / 2000.
    expect(all.topShares).toEqual({ top1: 0.5, top5: 0.5, top10: 0.5, top20: 0.5 });
    // 80 % = 1600 is first reached by A + B + C (1750): 3 of 5.
    expect(all.customersFor80PercentOfRevenue).toBe(0.6);

    // Store S1: A 1000, C 150, D 150 of 1300; top 20 % = ceil(0.6) = 1 customer; 80 % = 1040 → 2 of 3.
    const store = await paretoReport(database, { storeId: s1 });
    expect([store.customers, store.revenue]).toEqual([3, '1300.00']);
    expect(store.topShares.top20).toBeCloseTo(1000 / 1300, 12);
    expect(store.customersFor80PercentOfRevenue).toBeCloseTo(2 / 3, 12);

    // February–March: C 250 (three orders), D 150 of 400; top 20 % = C: 0.625; 80 % = 320 → both.
    const period = await paretoReport(database, { from: '2025-02-01', to: '2025-03-31' });
    expect([period.customers, period.revenue]).toEqual([2, '400.00']);
    expect(period.topShares.top20).toBe(0.625);
    expect(period.customersFor80PercentOfRevenue).toBe(1);

    // Three points asked for over five customers: the ranks where 1/3, 2/3, 3/3 are first reached (2, 4, 5).
    const coarse = await paretoReport(database, { points: 3 });
    expect(coarse.curve.map((p) => p.customerShare)).toEqual([0, 0.4, 0.8, 1]);

    const empty = await paretoReport(database, { from: '2030-01-01' });
    expect(empty).toMatchObject({ customers: 0, curve: [], customersFor80PercentOfRevenue: null });
  });

  it('cohorts: acquisition month × months since, active customers, retention and revenue', async () => {
    const report = await cohortReport(database, { months: 3, asOf: '2025-12-31' });
    // January: A, B, E (700 in January); only A returns, in April (month 3). February: C, D (300);
    // C again in March (100).
    expect(report.cohorts).toEqual([
      {
        cohort: '2025-01',
        customers: 3,
        months: [
          { month: 0, active: 3, retention: 1, revenue: '700.00' },
          { month: 1, active: 0, retention: 0, revenue: '0.00' },
          { month: 2, active: 0, retention: 0, revenue: '0.00' },
          { month: 3, active: 1, retention: 1 / 3, revenue: '100.00' },
        ],
      },
      {
        cohort: '2025-02',
        customers: 2,
        months: [
          { month: 0, active: 2, retention: 1, revenue: '300.00' },
          { month: 1, active: 1, retention: 0.5, revenue: '100.00' },
          { month: 2, active: 0, retention: 0, revenue: '0.00' },
          { month: 3, active: 0, retention: 0, revenue: '0.00' },
        ],
      },
    ]);
    // Months that have not begun by asOf are not shown; asOf defaults to the latest order day.
    const early = await cohortReport(database, { months: 3, asOf: '2025-02-28' });
    expect(early.cohorts.map((c) => c.months.length)).toEqual([2, 1]);
    const latest = await cohortReport(database, { months: 0 });
    expect(latest.asOf).toBe('2025-10-07');
  });

  it('churn with a fixed N = 90 days: lapse days and monthly rates worked by hand', async () => {
    const report = await churnReport(database, { asOf: '2025-12-31', days: 90 });
    // Lapse days: B 04-20, E 04-25, D 05-15, C 05-30 (03-01 + 90); A buys again exactly on each lapse
    // day (90-day gaps) and lapses only on 2026-01-05.
    const rows = report.months.map((m) => [m.month, m.activeAtStart, m.churned]);
    expect(rows).toEqual([
      ['2025-01', 0, 0],
      ['2025-02', 3, 0],
      ['2025-03', 5, 0],
      ['2025-04', 5, 2],
      ['2025-05', 3, 2],
      ['2025-06', 1, 0],
      ['2025-07', 1, 0],
      ['2025-08', 1, 0],
      ['2025-09', 1, 0],
      ['2025-10', 1, 0],
      ['2025-11', 1, 0],
      ['2025-12', 1, 0],
    ]);
    expect(report.months[0]!.churnRate).toBeNull();
    expect(report.months[3]!.churnRate).toBe(0.4);
    expect(report.months[4]!.churnRate).toBeCloseTo(2 / 3, 12);
    // A month not yet complete at asOf is not reported.
    const mid = await churnReport(database, { asOf: '2025-05-30', days: 90, months: 2 });
    expect(mid.months.map((m) => m.month)).toEqual(['2025-03', '2025-04']);
  });

  it("churn with each customer's own N: 2 × median gap, at least 90, 365 after a single purchase", async () => {
    // A: gaps 90, 90, 89 → N = 180; C: gaps 15, 9 → 2 × 12 = 24 → 90; B, D, E: one purchase day → 365.
    const report = await churnReport(database, { asOf: '2025-12-31', months: 12 });
    const byMonth = new Map(report.months.map((m) => [m.month, m]));
    expect(byMonth.get('2025-04')).toMatchObject({ activeAtStart: 5, churned: 0 });
    // May: only C lapses (05-30); B, D, E lapse in 2026; A's 180 days are never exceeded in 2025.
    expect(byMonth.get('2025-05')).toMatchObject({ activeAtStart: 5, churned: 1, churnRate: 0.2 });
    expect(byMonth.get('2025-06')).toMatchObject({ activeAtStart: 4, churned: 0 });
    expect(report.definition).toContain('2 x median');
  });

  it('at-risk: regular customers overdue against their own rhythm, most overdue × spend first', async () => {
    // At 2025-12-31: C (3 days, median gap 12, 305 days since 03-01) is overdue; A (median 90, 85 days
    // since 10-07) is not (85 ≤ 135).
    const now = await atRiskCustomers(database, { asOf: '2025-12-31', limit: 10 });
    expect(now.map((c) => [c.externalId, c.purchaseDays, c.medianGapDays, c.daysSinceLastPurchase])).toEqual([
      ['C', 3, 12, 305],
    ]);
    expect(now[0]!.spend).toBe('250.00');
    expect(now[0]!.score).toBeCloseTo((305 / 12) * 250, 9);
    // At 2026-03-31: C (395 / 12 × 250 ≈ 8229) before A (175 / 90 × 1000 ≈ 1944).
    const later = await atRiskCustomers(database, { asOf: '2026-03-31', limit: 10 });
    expect(later.map((c) => c.externalId)).toEqual(['C', 'A']);
    expect(later[1]!.overdueRatio).toBeCloseTo(175 / 90, 12);
    expect(await atRiskCustomers(database, { asOf: '2026-03-31', limit: 1 })).toHaveLength(1);
  });

  it('repeat drivers: come-back shares, days to next, following revenue and repurchase intervals', async () => {
    const report = await repeatDrivers(database, { asOf: '2026-03-31' });
    // Everyone's first purchase is a year before asOf. Back: A (90 days), C (15 days) → 2 of 5.
    expect(report.average).toEqual({
      customers: 5,
      within90: { eligible: 5, cameBack: 2, share: 0.4 },
      within180: { eligible: 5, cameBack: 2, share: 0.4 },
      within365: { eligible: 5, cameBack: 2, share: 0.4 },
      medianDaysToNext: 52.5,
      followingRevenue365: { customers: 5, total: '1100.00', perCustomer: '220.00' },
    });
    const lens = report.categories.find((c) => c.category === 'lens')!;
    // First lens buyers A and D: A back after 90 days with 900 in the year after; D never.
    expect(lens).toMatchObject({
      customers: 2,
      within90: { eligible: 2, cameBack: 1, share: 0.5 },
      medianDaysToNext: 90,
      followingRevenue365: { customers: 2, total: '900.00', perCustomer: '450.00' },
      cameBack365Index: 1.25,
      repurchaseInterval: { medianDays: 90, gaps: 2 },
    });
    expect(lens.followingRevenueIndex).toBeCloseTo(450 / 220, 12);
    const glasses = report.categories.find((c) => c.category === 'glasses')!;
    expect(glasses).toMatchObject({
      customers: 1,
      within365: { eligible: 1, cameBack: 0, share: 0 },
      medianDaysToNext: null,
      cameBack365Index: 0,
      repurchaseInterval: { medianDays: null, gaps: 0 },
    });
    const misc = report.categories.find((c) => c.category === 'misc')!;
    expect(misc).toMatchObject({
      customers: 2,
      medianDaysToNext: 15,
      repurchaseInterval: { medianDays: 15, gaps: 1 },
    });
    const lensProduct = report.products.find((p) => p.sku === 'LENS')!;
    expect(lensProduct).toMatchObject({
      customers: 2,
      medianDaysToNext: 90,
      repurchaseInterval: { medianDays: 90 },
    });

    // At 2025-04-30 only first purchases up to 01-30 (A, B, E) count for 90 days; A came back on day 90.
    const early = await repeatDrivers(database, { asOf: '2025-04-30' });
    expect(early.average.within90).toEqual({ eligible: 3, cameBack: 1, share: 1 / 3 });
    expect(early.average.within180).toEqual({ eligible: 0, cameBack: 0, share: null });
  });

  it('profitability: revenue − product cost − returns − touches − service time, per customer and in total', async () => {
    const report = await profitability(database);
    // Product cost: A 3 × 40 + 300, B 300, C 40 (+ 2 misc lines without cost), D 40. Service at 3000/h:
    // A 1800 s = 1500, C 600 s = 500, B 100 s = 83.33. Touches: A 84.50 + 15.25, F 120.
    expect(report.totals).toEqual({
      revenue: '2000.00',
      productCost: '800.00',
      returns: '550.00',
      touchCost: '219.75',
      serviceCost: '2083.33',
      profit: '-1653.08',
    });
    expect(report.customers).toBe(6);
    expect(report.list.map((c) => [c.externalId, c.profit])).toEqual([
      ['E', '100.00'],
      ['D', '60.00'],
      ['F', '-120.00'],
      ['C', '-290.00'],
      ['B', '-383.33'],
      ['A', '-1019.75'],
    ]);
    expect(report.list.find((c) => c.externalId === 'C')).toMatchObject({
      revenue: '250.00',
      productCost: '40.00',
      linesWithoutCost: 2,
      serviceSeconds: 600,
      serviceCost: '500.00',
    });
    const worst = await profitability(database, { hourlyRate: 6000, limit: 1, order: 'least_profitable' });
    expect(worst.list.map((c) => [c.externalId, c.serviceCost, c.profit])).toEqual([
      ['A', '3000.00', '-2519.75'],
    ]);
    expect(worst.totals.serviceCost).toBe('4166.67');
    // The per-tier breakdown exists exactly when customer_measures does; its rows add up to the totals.
    const present = await sql<{ present: boolean }>`
      select to_regclass('public.customer_measures') is not null as present`.execute(database.db);
    if (present.rows[0]!.present) {
      const cents = (s: string) => Math.round(Number(s) * 100);
      expect(report.byTier!.reduce((sum, t) => sum + cents(t.profit), 0)).toBe(cents(report.totals.profit));
      expect(report.byTier!.reduce((sum, t) => sum + t.customers, 0)).toBe(6);
      // With tiers: A and B loyal (−1019.75 − 383.33), D regular (60); C, E, F without a measures row.
      await sql`insert into customer_measures
          (customer_id, as_of, orders_count, purchase_days, total_spend, gross_margin, returns_amount, tier)
        select id, date '2025-12-31', 0, 0, 0, 0, 0, t.tier
        from customers c join (values ('A', 'loyal'), ('B', 'loyal'), ('D', 'regular')) t(ext, tier)
          on t.ext = c.external_id`.execute(database.db);
      try {
        const tiered = await profitability(database);
        expect(tiered.byTier!.map((t) => [t.tier, t.customers, t.revenue, t.profit])).toEqual([
          ['loyal', 2, '1500.00', '-1403.08'],
          ['regular', 1, '150.00', '60.00'],
          [null, 3, '350.00', '-310.00'],
        ]);
      } finally {
        await sql`delete from customer_measures`.execute(database.db);
      }
    } else {
      expect(report.byTier).toBeUndefined();
    }
  });

  it('acquisition: customers and revenue by source, and referrers by what their referrals bought', async () => {
    const report = await acquisitionReport(database);
    expect(report.sources).toEqual([
      { source: 'walk_in', customers: 2, buyers: 2, revenue: '1250.00', revenuePerCustomer: '625.00' },
      { source: 'advert', customers: 1, buyers: 1, revenue: '500.00', revenuePerCustomer: '500.00' },
      { source: 'referral', customers: 3, buyers: 2, revenue: '250.00', revenuePerCustomer: '83.33' },
    ]);
    expect(
      report.referrers.map((r) => [r.externalId, r.referred, r.referredBuyers, r.referredRevenue]),
    ).toEqual([
      ['C', 1, 1, '150.00'],
      ['A', 2, 1, '100.00'],
    ]);
    expect((await acquisitionReport(database, { top: 1 })).referrers).toHaveLength(1);
  });
});
