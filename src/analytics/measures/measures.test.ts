import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase } from '../../../test/helpers/database.ts';
import type { Database } from '../../db/index.ts';
import { importRecords, iterableSource } from '../../importer/index.ts';
import {
  monthEnds,
  type RankKey,
  refreshMeasures,
  rfmReport,
  snapshotTiers,
  tierDistributions,
  tierShares,
  tierTransitions,
} from './index.ts';

// Twelve customers, as of 2025-06-30. X costs 6 and sells at 10 (margin 4 a unit); Y's cost is unknown.
// C11 never buys; C12's only order is at 2025-07-01 00:00Z, just after the as-of day.
// [customer, ordered_at, sku, quantity]; one order per row (C01's last order has two lines).
const ORDERS: [string, string, string, string][] = [
  ['C01', '2023-01-01T12:00:00Z', 'X', '20'],
  ['C01', '2023-06-01T12:00:00Z', 'X', '20'],
  ['C01', '2024-01-01T12:00:00Z', 'X', '20'],
  ['C01', '2024-06-01T12:00:00Z', 'X', '20'],
  ['C01', '2025-01-01T12:00:00Z', 'X', '20'],
  ['C01', '2025-06-29T12:00:00Z', 'X', '10'],
  ['C02', '2023-06-01T12:00:00Z', 'X', '18'],
  ['C02', '2024-01-01T09:00:00Z', 'X', '18'],
  ['C02', '2024-01-01T15:00:00Z', 'X', '18'],
  ['C02', '2024-06-01T12:00:00Z', 'X', '18'],
  ['C02', '2025-06-01T12:00:00Z', 'X', '18'],
  ['C03', '2024-01-01T12:00:00Z', 'X', '30'],
  ['C03', '2024-06-01T12:00:00Z', 'X', '30'],
  ['C03', '2024-12-01T12:00:00Z', 'X', '60'],
  ['C03', '2025-05-01T12:00:00Z', 'X', '30'],
  ['C04', '2024-03-01T12:00:00Z', 'X', '10'],
  ['C04', '2024-09-01T12:00:00Z', 'X', '10'],
  ['C04', '2025-03-01T12:00:00Z', 'X', '10'],
  ['C05', '2024-06-01T12:00:00Z', 'X', '10'],
  ['C05', '2025-01-01T12:00:00Z', 'X', '10'],
  ['C06', '2025-05-01T12:00:00Z', 'X', '20'],
  ['C06', '2025-06-15T12:00:00Z', 'X', '20'],
  ['C07', '2025-06-30T23:30:00Z', 'X', '5'],
  ['C08', '2022-01-01T12:00:00Z', 'X', '30'],
  ['C08', '2023-01-01T12:00:00Z', 'X', '20'],
  ['C08', '2024-01-01T12:00:00Z', 'X', '20'],
  ['C09', '2024-09-01T12:00:00Z', 'X', '10'],
  ['C10', '2024-12-01T12:00:00Z', 'X', '15'],
  ['C10', '2025-02-01T12:00:00Z', 'X', '10'],
  ['C12', '2025-07-01T00:00:00Z', 'X', '1'],
];

type Row = Record<string, unknown>;

async function measures(database: Database): Promise<Map<string, Row>> {
  const { rows } = await sql<Row & { external_id: string }>`
    select c.external_id, m.* from customer_measures m join customers c on c.id = m.customer_id`.execute(
    database.db,
  );
  return new Map(rows.map((r) => [r.external_id, r]));
}

function pick(rows: Map<string, Row>, column: string): Record<string, unknown> {
  return Object.fromEntries(
    [...rows].sort(([a], [b]) => a.localeCompare(b)).map(([id, r]) => [id, r[column]]),
  );
}

describe('customer measures, RFM and tiers (hand-worked)', () => {
  let database: Database;
  const ids = new Map<string, number>();
  beforeAll(async () => {
    database = await openTestDatabase();
    await importRecords(
      database,
      'products',
      iterableSource(
        'p',
        ['sku', 'name', 'category', 'price', 'unit_cost'],
        [
          { sku: 'X', name: 'X', category: 'c', price: '10', unit_cost: '6' },
          { sku: 'Y', name: 'Y', category: 'c', price: '100', unit_cost: '' },
        ],
      ),
    );
    const customers = Array.from({ length: 12 }, (_, i) => ({
      external_id: `C${String(i + 1).padStart(2, '0')}`,
    }));
    await importRecords(database, 'customers', iterableSource('c', ['external_id'], customers));
    const lines = ORDERS.map(([customer_id, ordered_at, sku, quantity], i) => ({
      order_id: `O${i}`,
      customer_id,
      ordered_at,
      sku,
      quantity,
      unit_price: '10',
      line_no: '1',
    }));
    // C01's last order also holds one Y at 100: 200 in all, 100 of it without a known cost.
    lines.push({ ...lines[5]!, sku: 'Y', quantity: '1', unit_price: '100', line_no: '2' });
    await importRecords(database, 'orders', iterableSource('o', Object.keys(lines[0]!), lines));
    const returns = [
      {
        return_id: 'R1',
        customer_id: 'C01',
        sku: 'X',
        quantity: '3',
        amount: '30',
        returned_at: '2025-06-29T18:00:00Z',
      },
      {
        return_id: 'R2',
        customer_id: 'C01',
        sku: 'X',
        quantity: '1',
        amount: '10',
        returned_at: '2025-07-02T10:00:00Z',
      },
    ];
    await importRecords(database, 'returns', iterableSource('r', Object.keys(returns[0]!), returns));
    const { rows } = await sql<{
      id: number;
      external_id: string;
    }>`select id, external_id from customers`.execute(database.db);
    for (const r of rows) ids.set(r.external_id, r.id);
    // The quintile tie-breaks below assume ids follow the external ids.
    expect(customers.map((c) => ids.get(c.external_id))).toEqual([...ids.values()].sort((a, b) => a - b));
  });
  afterAll(async () => database.close());

  it('computes the purchase measures as of the end of the as-of day', async () => {
    // The first refresh fills the empty rows table with its secondary indexes dropped and built again.
    const indexes = () =>
      sql<{ indexdef: string }>`select indexdef from pg_indexes
        where tablename = 'customer_measure_rows' order by indexname`.execute(database.db);
    const before = (await indexes()).rows;
    expect(before.length).toBeGreaterThanOrEqual(4);
    const result = await refreshMeasures(database, { asOf: '2025-06-30' });
    expect((await indexes()).rows).toEqual(before);
    expect([result.asOf, result.customers, result.withPurchases]).toEqual(['2025-06-30', 12, 10]);
    expect(result.steps.map((s) => s.step)).toEqual([
      'analyze',
      'clear changes',
      'base measures',
      'cut points',
      'write',
      // PGlite has no autovacuum: the refresh vacuums the rows it rewrote.
      ...(database.engine === 'pglite' ? ['vacuum'] : []),
    ]);
    expect([result.mode, result.recomputed]).toEqual(['full', 12]);
    const m = await measures(database);
    expect(pick(m, 'orders_count')).toEqual({
      C01: 6,
      C02: 5,
      C03: 4,
      C04: 3,
      C05: 2,
      C06: 2,
      C07: 1,
      C08: 3,
      C09: 1,
      C10: 2,
      C11: 0,
      C12: 0,
    });
    // C02 bought twice on 2024-01-01.
    expect(pick(m, 'purchase_days')).toMatchObject({ C01: 6, C02: 4, C03: 4, C11: 0 });
    expect(pick(m, 'total_spend')).toEqual({
      C01: '1200.00',
      C02: '900.00',
      C03: '1500.00',
      C04: '300.00',
      C05: '200.00',
      C06: '400.00',
      C07: '50.00',
      C08: '700.00',
      C09: '100.00',
      C10: '250.00',
      C11: '0.00',
      C12: '0.00',
    });
    // Margin = 4 a unit of X: C01 (20·5 + 10)·4 = 440, its Y line left out (no cost).
    expect(pick(m, 'gross_margin')).toMatchObject({
      C01: '440.00',
      C02: '360.00',
      C03: '600.00',
      C10: '100.00',
      C11: '0.00',
    });
    expect(pick(m, 'average_order_value')).toMatchObject({
      C01: '200.00',
      C03: '375.00',
      C10: '125.00',
      C11: null,
    });
    // Only the return on 2025-06-29 counts.
    expect(pick(m, 'returns_amount')).toMatchObject({ C01: '30.00', C02: '0.00' });
    expect(pick(m, 'recency_days')).toEqual({
      C01: 1,
      C02: 29,
      C03: 60,
      C04: 121,
      C05: 180,
      C06: 15,
      C07: 0,
      C08: 546,
      C09: 302,
      C10: 149,
      C11: null,
      C12: null,
    });
    expect(pick(m, 'tenure_days')).toEqual({
      C01: 911,
      C02: 760,
      C03: 546,
      C04: 486,
      C05: 394,
      C06: 60,
      C07: 0,
      C08: 1276,
      C09: 302,
      C10: 211,
      C11: null,
      C12: null,
    });
    expect(pick(m, 'as_of')).toMatchObject({ C01: '2025-06-30', C11: '2025-06-30' });
  });

  it('counts every line when no order is dated after the as-of day (margins from the lines alone)', async () => {
    // As of 2025-07-02 C12's order (2025-07-01, 1 X) and the second return (2025-07-02) count too.
    const result = await refreshMeasures(database, { asOf: '2025-07-02', full: true });
    expect(result.withPurchases).toBe(11);
    const m = await measures(database);
    expect(pick(m, 'gross_margin')).toMatchObject({ C01: '440.00', C02: '360.00', C12: '4.00', C11: '0.00' });
    expect(pick(m, 'total_spend')).toMatchObject({ C12: '10.00', C01: '1200.00' });
    expect(pick(m, 'returns_amount')).toMatchObject({ C01: '40.00', C12: '0.00' });
    expect(pick(m, 'orders_count')).toMatchObject({ C12: 1, C11: 0 });
  });

  it('scores RFM by quintiles and names the groups', async () => {
    await refreshMeasures(database, { asOf: '2025-06-30' });
    const m = await measures(database);
    // Quintile cut values over the 10 buyers: the values at positions ⌈k·10/5⌉ = 2, 4, 6, 8 of each
    // measure in ascending order; score = 1 + the number of cut values the customer's value is above.
    // R, last purchase: C08 C09 | C05 C10 | C04 C03 | C02 C06 | C01 C07 (no ties: as by position).
    // F, orders 1 1 2 2 2 3 3 4 5 6: cut values 1, 2, 3, 4, so 1 → 1, 2 → 2, 3 → 3, 4 → 4, 5 and 6 → 5
    //   (C10 shares F 2 with C05 and C06, C08 shares 3 with C04: ties get the same score).
    // M, spend 50 100 200 250 300 400 700 900 1200 1500: cut values 100, 250, 400, 900.
    expect(pick(m, 'rfm_cell')).toEqual({
      C01: '555',
      C02: '454',
      C03: '345',
      C04: '333',
      C05: '222',
      C06: '423',
      C07: '511',
      C08: '134',
      C09: '111',
      C10: '222',
      C11: null,
      C12: null,
    });
    expect(pick(m, 'rfm_group')).toEqual({
      C01: 'champions',
      C02: 'champions',
      C03: 'loyal',
      C04: 'need_attention',
      C05: 'hibernating',
      C06: 'promising',
      C07: 'new',
      C08: 'at_risk',
      C09: 'hibernating',
      C10: 'hibernating',
      C11: null,
      C12: null,
    });
    const report = await rfmReport(database);
    expect([report.customers, report.revenue]).toEqual([10, '5600.00']);
    expect(report.groups.map((g) => [g.group, g.customers, g.revenue])).toEqual([
      ['champions', 2, '2100.00'],
      ['new', 1, '50.00'],
      ['at_risk', 1, '700.00'],
      ['hibernating', 3, '550.00'],
      ['loyal', 1, '1500.00'],
      ['promising', 1, '400.00'],
      ['need_attention', 1, '300.00'],
    ]);
    expect(report.groups[0]!.customerShare).toBe(0.2);
    expect(report.cells).toContainEqual({ cell: '555', customers: 1, revenue: '1200.00' });
    expect(report.cells).toContainEqual({ cell: '222', customers: 2, revenue: '450.00' });
    expect(report.cells.length).toBe(9);
  });

  it('scores RFM by configured cut points', async () => {
    await refreshMeasures(database, {
      asOf: '2025-06-30',
      settings: {
        rfm: {
          recencyDays: [30, 90, 180, 365],
          frequency: [2, 3, 5, 10],
          monetary: ['100', 500, 1000, 1500],
        },
      },
    });
    const m = await measures(database);
    // R: ≤30 → 5, ≤90 → 4, ≤180 → 3, ≤365 → 2, else 1. F, M: 1 + the number of cut points reached.
    expect(pick(m, 'rfm_cell')).toEqual({
      C01: '544',
      C02: '543',
      C03: '435',
      C04: '332',
      C05: '322',
      C06: '522',
      C07: '511',
      C08: '133',
      C09: '212',
      C10: '322',
      C11: null,
      C12: null,
    });
  });

  it('computes R, the cell and the group in the view: they cannot be written', async () => {
    await refreshMeasures(database, { asOf: '2025-06-30' });
    const before = await measures(database);
    const victim = ids.get('C01')!;
    const row = (
      await sql<Record<string, unknown>>`
      select customer_id, as_of, orders_count, purchase_days, total_spend, gross_margin, returns_amount
      from customer_measures where customer_id = ${victim}`.execute(database.db)
    ).rows[0]!;
    for (const computed of [{ r_score: 5 }, { rfm_cell: '555' }, { rfm_group: 'champions' }]) {
      await expect(
        database.db
          .insertInto('customer_measures')
          .values({ ...row, customer_id: -1, ...computed } as never)
          .execute(),
      ).rejects.toThrow(/r_score, rfm_cell and rfm_group are computed/);
    }
    // Nothing was written: the refused inserts left the rows as they were.
    expect(await measures(database)).toEqual(before);
  });

  it('assigns tiers by the composite score (default and custom shares, spend only)', async () => {
    // Percentile cut values over all 10 buyers: q_j = the value at position ⌈j·10/100⌉, j = 1…99, so
    // pct(x) = #{j : x > q_j} / 99 = 10 · L / 99 with L = how many buyers have a smaller value.
    // L by spend: C07 0 C09 1 C05 2 C10 3 C04 4 C06 5 C08 6 C02 7 C01 8 C03 9; by tenure (earlier first
    // purchase = longer): C07 0 C06 1 C10 2 C09 3 C05 4 C04 5 C03 6 C02 7 C01 8 C08 9; by orders
    // (1 1 2 2 2 3 3 4 5 6): C07,C09 0 C05,C06,C10 2 C04,C08 5 C03 7 C02 8 C01 9.
    // Score × 99 / 10 = 0.6 L_spend + 0.2 L_tenure + 0.2 L_orders: C01 8.2, C03 8.0, C02 7.2, C08 6.4,
    // C04 4.4, C06 3.6, C10 2.6, C05 2.4, C09 1.2, C07 0. Active (a purchase within 365 days): all but C08.
    await refreshMeasures(database, { asOf: '2025-06-30' });
    let m = await measures(database);
    const thresholds = async () => {
      const { rows } = await sql<{ cut_points: { active: number; loyal: RankKey; semiLoyal: RankKey } }>`
        select cut_points from measures_refreshes order by id desc limit 1`.execute(database.db);
      return rows[0]!.cut_points;
    };
    // The last loyal customer (rank round(0.06 · 9) = 1) is C01, the last semi-loyal (rank 2) C03.
    const cuts = await thresholds();
    expect([cuts.active, cuts.loyal.customerId, cuts.semiLoyal.customerId]).toEqual([
      9,
      ids.get('C01'),
      ids.get('C03'),
    ]);
    expect(cuts.loyal.score).toBeCloseTo(82 / 99, 12);
    expect(cuts.semiLoyal.score).toBeCloseTo(80 / 99, 12);
    expect([...m.values()].every((row) => !('tier_rank' in row))).toBe(true);
    // loyal: round(0.06 · 9) = 1; semi-loyal up to round(0.20 · 9) = 2; new: first purchase < 90 days ago.
    expect(pick(m, 'tier')).toEqual({
      C01: 'loyal',
      C02: 'regular',
      C03: 'semi_loyal',
      C04: 'regular',
      C05: 'regular',
      C06: 'new',
      C07: 'new',
      C08: 'lapsed',
      C09: 'regular',
      C10: 'regular',
      C11: null,
      C12: null,
    });
    // loyal: round(0.2 · 9) = 2; semi-loyal up to round(0.5 · 9) = 5 (C06 is semi-loyal before new).
    await refreshMeasures(database, {
      asOf: '2025-06-30',
      settings: { tiers: { loyalShare: 0.2, semiLoyalShare: 0.3 } },
    });
    m = await measures(database);
    expect(pick(m, 'tier')).toMatchObject({
      C01: 'loyal',
      C03: 'loyal',
      C02: 'semi_loyal',
      C04: 'semi_loyal',
      C06: 'semi_loyal',
      C05: 'regular',
      C09: 'regular',
      C10: 'regular',
      C07: 'new',
      C08: 'lapsed',
    });
    // Spend only: C03 (1500) first, C01 (1200) second.
    await refreshMeasures(database, { asOf: '2025-06-30', settings: { tiers: { spendOnly: true } } });
    m = await measures(database);
    expect(pick(m, 'tier')).toMatchObject({ C03: 'loyal', C01: 'semi_loyal', C02: 'regular' });
    // Lapsed after 100 days instead: C04 (121), C05 (180), C09 (302), C10 (149) fall out of the ranking.
    await refreshMeasures(database, { asOf: '2025-06-30', settings: { tiers: { lapsedDays: 100 } } });
    m = await measures(database);
    expect(pick(m, 'tier')).toMatchObject({
      C04: 'lapsed',
      C05: 'lapsed',
      C09: 'lapsed',
      C10: 'lapsed',
      C08: 'lapsed',
    });
  });

  it('rejects settings it cannot use', async () => {
    await expect(refreshMeasures(database, { asOf: '2025-02-30' })).rejects.toThrow(/asOf/);
    await expect(
      refreshMeasures(database, { settings: { tiers: { loyalShare: 0.6, semiLoyalShare: 0.5 } } }),
    ).rejects.toThrow(/loyalShare/);
    await expect(
      refreshMeasures(database, {
        settings: {
          rfm: { recencyDays: [90, 30, 180, 365], frequency: [2, 3, 5, 10], monetary: [1, 2, 3, 4] },
        },
      }),
    ).rejects.toThrow(/ascend/);
  });

  it('snapshots tiers at each month end with the refresh query', async () => {
    expect(monthEnds('2025-04-15', '2025-06-30')).toEqual(['2025-04-30', '2025-05-31', '2025-06-30']);
    expect(monthEnds('2024-01-31', '2024-03-30')).toEqual(['2024-01-31', '2024-02-29']);
    const result = await snapshotTiers(database, { from: '2025-04-15', to: '2025-06-30' });
    // By 2025-05-31 C07 had not bought yet: nine customers; by 2025-06-30 ten.
    expect(result.periods).toEqual([
      { periodEnd: '2025-04-30', customers: 8 },
      { periodEnd: '2025-05-31', customers: 9 },
      { periodEnd: '2025-06-30', customers: 10 },
    ]);
    await refreshMeasures(database, { asOf: '2025-06-30' });
    const { rows } = await sql<{ differences: number }>`
      select count(*)::int as differences from customer_measures m
      full join (select * from tier_snapshots where period_end = '2025-06-30') s on s.customer_id = m.customer_id
      where m.tier is distinct from s.tier or (s.customer_id is not null and m.total_spend <> s.total_spend)`.execute(
      database.db,
    );
    expect(rows[0]?.differences).toBe(0);
    // Re-running replaces rather than duplicates.
    await snapshotTiers(database, { from: '2025-06-01', to: '2025-06-30' });
    const shares = (await tierShares(database)).filter((s) => s.periodEnd === '2025-06-30');
    expect(shares.map((s) => [s.tier, s.customers, s.revenue])).toEqual([
      ['loyal', 1, '1200.00'],
      ['semi_loyal', 1, '1500.00'],
      ['regular', 5, '1750.00'],
      ['new', 2, '450.00'],
      ['lapsed', 1, '700.00'],
    ]);
  });

  describe('on hand-made snapshots', () => {
    beforeAll(async () => {
      // [period_end, customer, tier, total_spend, orders_count, tenure_days]
      const rows: [string, string, string, string, number, number][] = [
        ['2024-01-31', 'C01', 'loyal', '1000', 12, 800],
        ['2024-01-31', 'C02', 'semi_loyal', '500', 5, 400],
        ['2024-01-31', 'C03', 'regular', '300', 3, 200],
        ['2024-01-31', 'C04', 'new', '40', 1, 10],
        ['2024-01-31', 'C05', 'regular', '200', 2, 100],
        ['2024-02-29', 'C01', 'loyal', '1100', 13, 829],
        ['2024-02-29', 'C02', 'loyal', '800', 7, 429],
        ['2024-02-29', 'C03', 'lapsed', '300', 3, 229],
        ['2024-02-29', 'C04', 'regular', '60', 2, 39],
        ['2024-02-29', 'C06', 'new', '20', 1, 5],
      ];
      await database.db
        .insertInto('tier_snapshots')
        .values(
          rows.map(([period_end, c, tier, total_spend, orders_count, tenure_days]) => ({
            period_end,
            customer_id: ids.get(c)!,
            tier: tier as 'loyal',
            total_spend,
            orders_count,
            tenure_days,
          })),
        )
        .execute();
    });

    it('counts the transitions between two snapshots, with none for the absent', async () => {
      expect(await tierTransitions(database, '2024-01-31', '2024-02-29')).toEqual([
        { from: 'loyal', to: 'loyal', customers: 1 },
        { from: 'semi_loyal', to: 'loyal', customers: 1 },
        { from: 'regular', to: 'lapsed', customers: 1 },
        { from: 'regular', to: 'none', customers: 1 },
        { from: 'new', to: 'regular', customers: 1 },
        { from: 'none', to: 'new', customers: 1 },
      ]);
    });

    it('gives the share of customers and revenue per tier per period', async () => {
      const shares = (await tierShares(database)).filter((s) => s.periodEnd === '2024-01-31');
      expect(shares).toEqual([
        {
          periodEnd: '2024-01-31',
          tier: 'loyal',
          customers: 1,
          customerShare: 0.2,
          revenue: '1000.00',
          revenueShare: 1000 / 2040,
        },
        {
          periodEnd: '2024-01-31',
          tier: 'semi_loyal',
          customers: 1,
          customerShare: 0.2,
          revenue: '500.00',
          revenueShare: 500 / 2040,
        },
        {
          periodEnd: '2024-01-31',
          tier: 'regular',
          customers: 2,
          customerShare: 0.4,
          revenue: '500.00',
          revenueShare: 500 / 2040,
        },
        {
          periodEnd: '2024-01-31',
          tier: 'new',
          customers: 1,
          customerShare: 0.2,
          revenue: '40.00',
          revenueShare: 40 / 2040,
        },
        {
          periodEnd: '2024-01-31',
          tier: 'lapsed',
          customers: 0,
          customerShare: 0,
          revenue: '0.00',
          revenueShare: 0,
        },
      ]);
      expect((await tierShares(database)).map((s) => s.periodEnd)[0]).toBe('2024-01-31');
    });

    it('counts customers per fixed bin per tier', async () => {
      const d = await tierDistributions(database, '2024-01-31');
      const counts = (tier: string, measure: string) =>
        d.find((x) => x.tier === tier && x.measure === measure)!.bins.map((b) => b.customers);
      expect(d.length).toBe(15);
      // Spend bins 0, 1000, 5000, 10000, 50000, 100000, 500000+.
      expect(counts('loyal', 'total_spend')).toEqual([0, 1, 0, 0, 0, 0, 0]);
      expect(counts('regular', 'total_spend')).toEqual([2, 0, 0, 0, 0, 0, 0]);
      expect(counts('lapsed', 'total_spend')).toEqual([0, 0, 0, 0, 0, 0, 0]);
      // Order bins 1, 2, 3, 4–5, 6–9, 10–19, 20+.
      expect(counts('loyal', 'orders_count')).toEqual([0, 0, 0, 0, 0, 1, 0]);
      expect(counts('semi_loyal', 'orders_count')).toEqual([0, 0, 0, 1, 0, 0, 0]);
      expect(counts('regular', 'orders_count')).toEqual([0, 1, 1, 0, 0, 0, 0]);
      expect(counts('new', 'orders_count')).toEqual([1, 0, 0, 0, 0, 0, 0]);
      // Tenure bins 0, 31, 91, 181, 366, 731, 1096+ days.
      expect(counts('loyal', 'tenure_days')).toEqual([0, 0, 0, 0, 0, 1, 0]);
      expect(counts('semi_loyal', 'tenure_days')).toEqual([0, 0, 0, 0, 1, 0, 0]);
      expect(counts('regular', 'tenure_days')).toEqual([0, 0, 1, 1, 0, 0, 0]);
      expect(counts('new', 'tenure_days')).toEqual([1, 0, 0, 0, 0, 0, 0]);
      expect(d[0]!.bins[0]).toEqual({ label: '0–1000', lower: 0, upper: 1000, customers: 0 });
      expect(d[0]!.bins[6]).toEqual({ label: '500000+', lower: 500000, upper: null, customers: 0 });
      const orderBins = d.find((x) => x.measure === 'orders_count')!.bins.map((b) => b.label);
      expect(orderBins).toEqual(['1', '2', '3', '4–5', '6–9', '10–19', '20+']);
    });
  });

  it("fixes a month's cut points at its first refresh: tiers move with the customer's own orders", async () => {
    // Spend only (the first test ranked by it as of 2025-06-30 and so fixed June's cut points for these
    // settings): C03 (1500) the last loyal, C01 (1200) the last semi-loyal.
    const spendOnly = { tiers: { spendOnly: true } };
    const tiers = async () => pick(await measures(database), 'tier');
    const refresh = async (asOf: string, options: { recut?: boolean } = {}) => {
      const result = await refreshMeasures(database, { asOf, settings: spendOnly, ...options });
      return [result.mode, result.steps.map((s) => s.step).filter((s) => s.startsWith('moved'))];
    };
    expect(await refresh('2025-06-30')).toEqual(['full', []]);
    expect(await tiers()).toMatchObject({ C03: 'loyal', C01: 'semi_loyal', C09: 'regular' });
    // C09 (100 so far) spends 5,000 on the as-of day and passes everyone.
    const order = [
      {
        order_id: 'BIG',
        customer_id: 'C09',
        ordered_at: '2025-06-30T12:00:00Z',
        sku: 'X',
        quantity: '500',
        unit_price: '10',
        line_no: '1',
      },
    ];
    await importRecords(database, 'orders', iterableSource('o', Object.keys(order[0]!), order));
    // Same month: June's thresholds hold, so C09 joins the loyal tier and nobody else moves — where a
    // ranking as of today would keep one loyal customer (round(0.06 · 9)) and push C03 and C01 down.
    expect(await refresh('2025-06-30')).toEqual(['incremental', ['moved by the day']]);
    expect(await tiers()).toMatchObject({ C09: 'loyal', C03: 'loyal', C01: 'semi_loyal', C02: 'regular' });
    // The month's snapshot ranks with the month's cut points too.
    await snapshotTiers(database, { from: '2025-06-01', to: '2025-06-30', settings: spendOnly });
    const { rows: snapshot } = await sql<{ external_id: string; tier: string }>`
      select c.external_id, s.tier from tier_snapshots s join customers c on c.id = s.customer_id
      where s.period_end = '2025-06-30' and c.external_id in ('C01', 'C03', 'C09') order by 1`.execute(
      database.db,
    );
    expect(snapshot.map((r) => r.tier)).toEqual(['semi_loyal', 'loyal', 'loyal']);
    // Recut: ranked against today's buyers, and kept for June's later refreshes.
    expect(await refresh('2025-06-30', { recut: true })).toEqual([
      'incremental',
      ['moved by the cut points'],
    ]);
    expect(await tiers()).toMatchObject({ C09: 'loyal', C03: 'semi_loyal', C01: 'regular' });
    const kept = async () =>
      (
        await sql<{ month: string; as_of: string; loyal: number }>`
          select to_char(month, 'YYYY-MM-DD') as month, to_char(as_of, 'YYYY-MM-DD') as as_of,
                 (cut_points -> 'loyal' ->> 'customerId')::int as loyal
          from measures_cut_points where settings like '%"spendOnly":true%' order by month`.execute(
          database.db,
        )
      ).rows;
    expect(await kept()).toEqual([{ month: '2025-06-01', as_of: '2025-06-30', loyal: ids.get('C09') }]);
    expect(await refresh('2025-06-30')).toEqual(['incremental', ['moved by the day']]);
    expect(await tiers()).toMatchObject({ C09: 'loyal', C03: 'semi_loyal', C01: 'regular' });
    // A new month ranks again (C12's first order, 2025-07-01 00:00, comes in: 11 buyers, 10 active).
    expect(await refresh('2025-07-01')).toEqual(['incremental', ['moved by the cut points']]);
    expect(await tiers()).toMatchObject({ C09: 'loyal', C03: 'semi_loyal', C01: 'regular', C12: 'new' });
    expect((await kept()).map((k) => [k.month, k.as_of])).toEqual([
      ['2025-06-01', '2025-06-30'],
      ['2025-07-01', '2025-07-01'],
    ]);
  });
});
