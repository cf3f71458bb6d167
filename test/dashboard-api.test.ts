import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refreshMeasures } from '../src/analytics/measures/index.ts';
import { paretoOfMeasures, paretoReport } from '../src/analytics/reports/index.ts';
import { DashboardResponse } from '../src/api/dashboard.routes.ts';
import { buildServer } from '../src/api/index.ts';
import type { Database, Tier } from '../src/db/index.ts';
import { tokenHeaders } from './helpers/api.ts';
import { openTestDatabase } from './helpers/database.ts';

/**
 * A shop worked out by hand, as of 2026-06-15 ("the last 12 months" = 2025-07-01 … 2026-06-15).
 *
 * customer (home store)  orders (store)
 *   1 Aiko  (1)   2025-03-10 1000 (1) · 2026-01-20 3000 (1) · 2026-06-05 5000 (1)
 *   2 Ben   (1)   2025-08-01 2000 (2) · 2026-06-10 1000 (1)
 *   3 Chie  (2)   2026-06-03 4000 (2)                         first purchase this month
 *   4 Daichi(2)   2023-01-10, 2023-04-10, 2024-01-10  500 each (2)   gaps 90, 275 days → overdue: at risk
 *   5 Eri   (2)   none
 *   6 Fumi  (2)   2026-05-20 700 (2)
 *   7 Goro  (1)   merged into Aiko · 8 Hana (1) erased: neither is a customer any more
 *
 * Spend in the window: Aiko 8000, Chie 4000, Ben 3000, Fumi 700 = 15700.
 * Measures (last refresh as of 2026-06-15), tiers and lifetime spend: Aiko semi_loyal 9000, Ben regular
 * 3000, Chie new 4000, Daichi lapsed 1500, Fumi new 700; Eri no tier.
 * Snapshots: 04-30 Aiko regular 4000, Ben loyal 2000, Daichi lapsed 1500; 05-31 Aiko semi_loyal 4000, Ben
 * regular 2000, Daichi lapsed 1500, Fumi new 700; 06-30 (after asOf: must not count) everyone.
 * Equity history: 2026-05-01 10000.00, 2026-06-10 12000.00. CLV: Aiko 5000, Chie 3000, Fumi 1000, Daichi 0.
 */
const AS_OF = '2026-06-15';

async function loadShop(database: Database): Promise<void> {
  const db = database.db;
  await db
    .insertInto('stores')
    .values([
      { id: 1, code: 'S1', name: 'Shibuya' },
      { id: 2, code: 'S2', name: 'Umeda' },
    ])
    .execute();
  const homes: [number, string, number][] = [
    [1, 'Aiko', 1],
    [2, 'Ben', 1],
    [3, 'Chie', 2],
    [4, 'Daichi', 2],
    [5, 'Eri', 2],
    [6, 'Fumi', 2],
    [7, 'Goro', 1],
    [8, 'Hana', 1],
  ];
  await db
    .insertInto('customers')
    .values(
      homes.map(([id, name, home]) => ({
        id,
        name,
        home_store_id: home,
        merged_into_customer_id: id === 7 ? 1 : null,
        erased_at: id === 8 ? new Date('2026-02-01T00:00:00Z') : null,
      })),
    )
    .execute();
  const orders: [number, string, number, number][] = [
    [1, '2025-03-10', 1000, 1],
    [1, '2026-01-20', 3000, 1],
    [1, '2026-06-05', 5000, 1],
    [2, '2025-08-01', 2000, 2],
    [2, '2026-06-10', 1000, 1],
    [3, '2026-06-03', 4000, 2],
    [4, '2023-01-10', 500, 2],
    [4, '2023-04-10', 500, 2],
    [4, '2024-01-10', 500, 2],
    [6, '2026-05-20', 700, 2],
    // after asOf: never counted
    [2, '2026-06-20', 9999, 1],
  ];
  await db
    .insertInto('orders')
    .values(
      orders.map(([customer, day, total, store], i) => ({
        customer_id: customer,
        id: i + 1,
        external_id: `O${i + 1}`,
        ordered_at: new Date(`${day}T12:00:00Z`),
        total,
        store_id: store,
      })),
    )
    .execute();
  const measures: [number, Tier | null, number, number][] = [
    [1, 'semi_loyal', 9000, 3],
    [2, 'regular', 3000, 2],
    [3, 'new', 4000, 1],
    [4, 'lapsed', 1500, 3],
    [5, null, 0, 0],
    [6, 'new', 700, 1],
  ];
  await db
    .insertInto('customer_measures')
    .values(
      measures.map(([customer, tier, spend, orders]) => ({
        customer_id: customer,
        as_of: AS_OF,
        orders_count: orders,
        purchase_days: 0,
        total_spend: spend,
        gross_margin: 0,
        returns_amount: 0,
        tier,
      })),
    )
    .execute();
  await db
    .insertInto('measures_refreshes')
    .values({
      as_of: AS_OF,
      mode: 'full',
      settings: '{}',
      customers: 6,
      recomputed: 6,
      seconds: 0.1,
      steps: JSON.stringify([]),
    })
    .execute();
  const snapshots: [string, number, Tier, number][] = [
    ['2026-04-30', 1, 'regular', 4000],
    ['2026-04-30', 2, 'loyal', 2000],
    ['2026-04-30', 4, 'lapsed', 1500],
    ['2026-05-31', 1, 'semi_loyal', 4000],
    ['2026-05-31', 2, 'regular', 2000],
    ['2026-05-31', 4, 'lapsed', 1500],
    ['2026-05-31', 6, 'new', 700],
    ['2026-06-30', 1, 'semi_loyal', 9000],
    ['2026-06-30', 2, 'lapsed', 13000],
    ['2026-06-30', 3, 'new', 4000],
    ['2026-06-30', 4, 'lapsed', 1500],
    ['2026-06-30', 6, 'new', 700],
  ];
  await db
    .insertInto('tier_snapshots')
    .values(
      snapshots.map(([period, customer, tier, spend]) => ({
        period_end: period,
        customer_id: customer,
        tier,
        total_spend: spend,
        orders_count: 1,
        tenure_days: 1,
      })),
    )
    .execute();
  const model = await db
    .insertInto('clv_models')
    .values({
      purchase_model: 'bgnbd',
      time_unit: 'weeks',
      calibration_end: '2026-06-01',
      customers: 5,
      purchase_params: '{}',
      purchase_report: '{}',
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const clv: [number, number][] = [
    [1, 5000],
    [3, 3000],
    [4, 0],
    [6, 1000],
  ];
  await db
    .insertInto('customer_clv')
    .values(
      clv.map(([customer, value]) => ({
        customer_id: customer,
        model_id: model.id,
        frequency: 1,
        recency: 1,
        age: 1,
        probability_alive: 0.5,
        expected_purchases_next_year: 1,
        clv: String(value),
        computed_at: new Date('2026-06-10T00:00:00Z'),
      })),
    )
    .execute();
  await db
    .insertInto('clv_equity_history')
    .values([
      { model_id: model.id, computed_at: new Date('2026-05-01T00:00:00Z'), customers: 4, equity: 10000 },
      { model_id: model.id, computed_at: new Date('2026-06-10T00:00:00Z'), customers: 4, equity: 12000 },
    ])
    .execute();
}

describe('GET /api/dashboard', () => {
  let database: Database;
  let app: ReturnType<typeof buildServer>;
  let manager: Record<string, string>;
  beforeAll(async () => {
    database = await openTestDatabase();
    await loadShop(database);
    app = buildServer(database);
    manager = await tokenHeaders(database, 'manager');
  });
  afterAll(async () => {
    await app.close();
    await database.close();
  });

  const get = async (url: string, headers = manager) => {
    const response = await app.inject({ method: 'GET', url, headers });
    expect(response.statusCode, response.body).toBe(200);
    return DashboardResponse.parse(response.json());
  };

  it('gives the whole shop’s figures worked out by hand', async () => {
    const d = await get('/api/dashboard'); // asOf: the last refresh's day
    expect(d.asOf).toBe(AS_OF);
    expect(d.windowStart).toBe('2025-07-01');
    expect(d.measures).toMatchObject({ asOf: AS_OF, mode: 'full' });
    expect(d.customers).toEqual({ total: 6, active: 4, newThisMonth: 1 });

    expect(d.revenue.thisMonth).toBe('10000.00');
    expect(d.revenue.last12Months).toBe('15700.00');
    expect(d.revenue.byMonth.map((m) => m.month)).toEqual([
      '2025-07',
      '2025-08',
      '2025-09',
      '2025-10',
      '2025-11',
      '2025-12',
      '2026-01',
      '2026-02',
      '2026-03',
      '2026-04',
      '2026-05',
      '2026-06',
    ]);
    const months = Object.fromEntries(d.revenue.byMonth.map((m) => [m.month, m]));
    expect(months['2025-08']).toEqual({ month: '2025-08', revenue: '2000.00', orders: 1, customers: 1 });
    expect(months['2026-01']!.revenue).toBe('3000.00');
    expect(months['2026-05']!.revenue).toBe('700.00');
    expect(months['2026-06']).toEqual({ month: '2026-06', revenue: '10000.00', orders: 3, customers: 3 });
    expect(months['2025-07']).toEqual({ month: '2025-07', revenue: '0.00', orders: 0, customers: 0 });

    // Pareto of lifetime spend at the refresh: 9000, 4000, 3000, 1500, 700 of 18200 (Eri never bought)
    expect(d.pareto.customers).toBe(5);
    expect(Number(d.pareto.revenue)).toBe(18200);
    const curve = d.pareto.curve;
    expect(curve.map((p) => p.customerShare)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    [0, 9000 / 18200, 13000 / 18200, 16000 / 18200, 17500 / 18200, 1].forEach((share, i) => {
      expect(curve[i]!.revenueShare).toBeCloseTo(share, 12);
    });
    // top 1/5/10/20 % of 5 customers is the first ceil(x % × 5) = 1 customer
    for (const top of ['top1', 'top5', 'top10', 'top20'] as const) {
      expect(d.pareto.topShares[top]).toBeCloseTo(9000 / 18200, 12);
    }
    expect(d.pareto.customersFor80PercentOfRevenue).toBe(0.6); // 16000 ≥ 0.8 × 18200 = 14560

    const now = Object.fromEntries(d.tiers.now.map((t) => [t.tier, t]));
    expect(d.tiers.now.map((t) => t.tier)).toEqual(['loyal', 'semi_loyal', 'regular', 'new', 'lapsed']);
    expect(now.loyal).toMatchObject({ customers: 0, customerShare: 0, revenue: '0.00' });
    expect(now.new).toMatchObject({ customers: 2, customerShare: 0.4, revenue: '4700.00' });
    expect(now.new!.revenueShare).toBeCloseTo(4700 / 18200, 12);
    expect(now.semi_loyal).toMatchObject({ customers: 1, customerShare: 0.2, revenue: '9000.00' });
    expect(now.lapsed!.revenue).toBe('1500.00');
    expect(d.tiers.now.map((t) => t.revenueLast12Months)).toEqual([
      '0.00',
      '8000.00',
      '3000.00',
      '4700.00',
      '0.00',
    ]);

    expect(d.tiers.trend.map((t) => t.periodEnd)).toEqual(['2026-04-30', '2026-05-31']);
    const april = Object.fromEntries(d.tiers.trend[0]!.tiers.map((t) => [t.tier, t]));
    expect(april.loyal!.customerShare).toBeCloseTo(1 / 3, 12);
    expect(april.loyal!.revenueShare).toBeCloseTo(2000 / 7500, 12);
    expect(april.semi_loyal!.customers).toBe(0);
    const may = Object.fromEntries(d.tiers.trend[1]!.tiers.map((t) => [t.tier, t]));
    expect(may.semi_loyal).toMatchObject({ customers: 1, customerShare: 0.25, revenue: '4000.00' });
    expect(may.semi_loyal!.revenueShare).toBeCloseTo(4000 / 8200, 12);

    const moves = d.tiers.transitions!;
    expect(moves).toMatchObject({
      from: '2026-04-30',
      to: '2026-05-31',
      movedUp: 1,
      fell: 1,
      stayed: 1,
      joined: 1,
    });
    expect(moves.byTier).toEqual([
      { tier: 'loyal', customers: 1, movedUp: 0, fell: 1, stayed: 0 },
      { tier: 'semi_loyal', customers: 0, movedUp: 0, fell: 0, stayed: 0 },
      { tier: 'regular', customers: 1, movedUp: 1, fell: 0, stayed: 0 },
      { tier: 'new', customers: 0, movedUp: 0, fell: 0, stayed: 0 },
      { tier: 'lapsed', customers: 1, movedUp: 0, fell: 0, stayed: 1 },
    ]);

    expect(d.atRisk.customers).toBe(1); // Daichi
    expect(d.equity).toMatchObject({ customers: 4, equity: '12000.00', change: '2000.00' });
    expect(d.equity.previous!.equity).toBe('10000.00');
  });

  it('moves the revenue window with asOf', async () => {
    const d = await get('/api/dashboard?asOf=2026-05-31');
    expect(d.windowStart).toBe('2025-06-01');
    expect(d.revenue.thisMonth).toBe('700.00');
    expect(d.revenue.last12Months).toBe('5700.00'); // Ben 2000, Aiko 3000, Fumi 700
    expect(d.customers).toEqual({ total: 6, active: 3, newThisMonth: 1 }); // Fumi
    expect(d.tiers.trend.map((t) => t.periodEnd)).toEqual(['2026-04-30', '2026-05-31']);
    expect(d.pareto.customers).toBe(5); // the measures are as of their refresh, whatever asOf
  });

  it('gives a store its own orders and its home-store customers', async () => {
    const d = await get('/api/dashboard?storeId=2');
    expect(d.storeIds).toEqual([2]);
    // Chie, Daichi, Eri, Fumi; Chie and Fumi bought in the window
    expect(d.customers).toEqual({ total: 4, active: 2, newThisMonth: 1 });
    // orders placed at store 2 in the window: Ben 2000, Chie 4000, Fumi 700
    expect(d.revenue.last12Months).toBe('6700.00');
    expect(d.revenue.thisMonth).toBe('4000.00');
    // Chie 4000, Daichi 1500, Fumi 700 (lifetime, home store 2)
    expect(d.pareto.customers).toBe(3);
    expect(d.pareto.topShares.top20).toBeCloseTo(4000 / 6200, 12);
    const now = Object.fromEntries(d.tiers.now.map((t) => [t.tier, t]));
    expect(now.new!.customerShare).toBeCloseTo(2 / 3, 12);
    expect(now.lapsed).toMatchObject({ customers: 1, revenue: '1500.00' });
    expect(now.new!.revenueLast12Months).toBe('4700.00');
    expect(d.tiers.trend.map((t) => t.tiers.reduce((n, x) => n + x.customers, 0))).toEqual([1, 2]);
    expect(d.tiers.transitions).toMatchObject({ movedUp: 0, fell: 0, stayed: 1, joined: 1 });
    expect(d.atRisk.customers).toBe(1);
    expect(d.equity).toMatchObject({ customers: 3, equity: '4000.00', previous: null, change: null });

    const shibuya = await get('/api/dashboard?storeId=1');
    expect(shibuya.atRisk.customers).toBe(0);
    expect(shibuya.revenue.last12Months).toBe('9000.00'); // Aiko 3000 + 5000, Ben 1000
  });

  it('serves the computed figures again until the data changes', async () => {
    const before = await get('/api/dashboard');
    const again = await get('/api/dashboard');
    expect(again).toMatchObject({ computedAt: before.computedAt, stale: false });
    // Eri's first order: the insert marks her changed, and the next call recomputes
    await database.db
      .insertInto('orders')
      .values({
        customer_id: 5,
        id: 100,
        external_id: 'O100',
        ordered_at: new Date('2026-06-12T12:00:00Z'),
        total: 800,
        store_id: 2,
      })
      .execute();
    // first the figures as they were, marked stale, while the new ones are computed
    const stale = await get('/api/dashboard');
    expect(stale).toMatchObject({ computedAt: before.computedAt, stale: true });
    expect(stale.customers.newThisMonth).toBe(1);
    let after = stale;
    for (let i = 0; i < 200 && after.computedAt === before.computedAt; i++) {
      await new Promise((resolve) => setTimeout(resolve, 25));
      after = await get('/api/dashboard');
    }
    expect(after.stale).toBe(false);
    expect(after.customers).toEqual({ total: 6, active: 5, newThisMonth: 2 });
    expect(after.revenue.thisMonth).toBe('10800.00');
    const fresh = await get('/api/dashboard?fresh=true');
    expect(fresh.computedAt).not.toBe(after.computedAt);
    await database.db.deleteFrom('orders').where('id', '=', 100).execute();
  });

  it('limits a store-scoped caller to their stores and refuses roles without reports', async () => {
    const umeda = await tokenHeaders(database, 'manager', { storeIds: [2] });
    const d = await get('/api/dashboard', umeda);
    expect(d.storeIds).toEqual([2]);
    expect(d.revenue.last12Months).toBe('6700.00');
    const other = await app.inject({ method: 'GET', url: '/api/dashboard?storeId=1', headers: umeda });
    expect(other.statusCode).toBe(403);
    expect(other.json().error.code).toBe('store_out_of_scope');
    const staff = await app.inject({
      method: 'GET',
      url: '/api/dashboard',
      headers: await tokenHeaders(database, 'store_staff'),
    });
    expect(staff.statusCode).toBe(403);
    const bad = await app.inject({ method: 'GET', url: '/api/dashboard?asOf=2026-13-01', headers: manager });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.field).toBe('asOf');
  });
});

describe('the Pareto curve from the measures', () => {
  it('equals the curve of the orders up to the refresh day', async () => {
    const database = await openTestDatabase();
    try {
      const db = database.db;
      await db.insertInto('stores').values({ id: 1, code: 'S1', name: 'Shibuya' }).execute();
      await db
        .insertInto('customers')
        .values(Array.from({ length: 40 }, (_, i) => ({ id: i + 1, name: `C${i + 1}`, home_store_id: 1 })))
        .execute();
      // customer c buys (c mod 4) times, amounts varying by customer and order; some after the refresh day
      const orders = [];
      for (let c = 1; c <= 40; c++) {
        for (let k = 0; k < c % 4; k++) {
          orders.push({
            customer_id: c,
            id: orders.length + 1,
            external_id: `O${orders.length + 1}`,
            ordered_at: new Date(Date.UTC(2026, (c + k * 5) % 12, 1 + ((c * 7 + k) % 27), 10)),
            total: ((c * 37 + k * 101) % 90) * 100 + 50,
            store_id: 1,
          });
        }
      }
      await db.insertInto('orders').values(orders).execute();
      await refreshMeasures(database, { asOf: '2026-09-30' });
      const fromOrders = await paretoReport(database, { to: '2026-09-30' });
      const fromMeasures = await paretoOfMeasures(database);
      expect(fromMeasures.customers).toBe(fromOrders.customers);
      expect(fromMeasures.revenue).toBe(fromOrders.revenue);
      expect(fromMeasures.curve).toEqual(fromOrders.curve);
      expect(fromMeasures.topShares).toEqual(fromOrders.topShares);
      expect(fromMeasures.customersFor80PercentOfRevenue).toBe(fromOrders.customersFor80PercentOfRevenue);
      expect(fromOrders.customers).toBeGreaterThan(20);
    } finally {
      await database.close();
    }
  });
});
