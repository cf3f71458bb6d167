import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../src/api/index.ts';
import type { Database } from '../../src/db/index.ts';
import { loadDemo } from '../../src/demo/load-demo.ts';
import { tokenHeaders } from '../helpers/api.ts';
import { openTestDatabase } from '../helpers/database.ts';

/**
 * Scenario 4 (SCENARIOS.md), through the API the dashboard will use: the Pareto curve ("top 20 % bring
 * X %"), the loyal and semi-loyal shares by month for two years, who moved up or fell this month, and
 * the at-risk list. The figures themselves are tested against hand-worked cases in src/analytics; here
 * the walk-through must hold together.
 */
describe('scenario 4: grow the loyal share', () => {
  let database: Database;
  beforeAll(async () => {
    database = await openTestDatabase();
    await loadDemo(database, { customers: 1500, seed: 4 });
  });
  afterAll(async () => database.close());

  it('shows the Pareto curve, two years of tier shares, this month’s movers and the at-risk list', async () => {
    const app = buildServer(database);
    const headers = await tokenHeaders(database, 'owner');
    const refresh = await app.inject({
      headers,
      method: 'POST',
      url: '/api/analytics/refresh',
      payload: { asOf: '2026-10-31', snapshotsFrom: '2024-11-01' },
    });
    expect(refresh.statusCode).toBe(200);

    const pareto = (await app.inject({ headers, method: 'GET', url: '/api/reports/pareto' })).json();
    // "Top 20 % bring X %": customers are unequal, so the top fifth brings more than a fifth of revenue.
    expect(pareto.topShares.top20).toBeGreaterThan(0.4);
    expect(pareto.topShares.top20).toBeLessThan(1);
    expect(pareto.curve.at(-1)).toEqual({ customerShare: 1, revenueShare: 1 });

    const shares: { periodEnd: string; tier: string; customers: number; customerShare: number }[] = (
      await app.inject({ headers, method: 'GET', url: '/api/reports/tiers' })
    ).json().shares;
    const months = [...new Set(shares.map((s) => s.periodEnd))];
    expect(months).toHaveLength(24);
    expect(months.at(-1)).toBe('2026-10-31');
    for (const month of months) {
      const total = shares.filter((s) => s.periodEnd === month).reduce((sum, s) => sum + s.customerShare, 0);
      expect(total).toBeCloseTo(1, 6);
      const loyal = shares.find((s) => s.periodEnd === month && s.tier === 'loyal');
      expect(loyal?.customerShare ?? 0).toBeGreaterThan(0);
    }

    const transitions: { from: string; to: string; customers: number }[] = (
      await app.inject({
        headers,
        method: 'GET',
        url: '/api/reports/transitions?from=2026-09-30&to=2026-10-31',
      })
    ).json().transitions;
    const order = ['loyal', 'semi_loyal', 'regular', 'new', 'lapsed'];
    const movedUp = transitions.filter(
      (t) => order.includes(t.from) && order.includes(t.to) && order.indexOf(t.to) < order.indexOf(t.from),
    );
    const fell = transitions.filter(
      (t) => order.includes(t.from) && order.includes(t.to) && order.indexOf(t.to) > order.indexOf(t.from),
    );
    expect(movedUp.length + fell.length).toBeGreaterThan(0);
    // Everyone in the October snapshot came from somewhere (a September tier or 'none'), and only they.
    const october = shares
      .filter((s) => s.periodEnd === '2026-10-31')
      .reduce((sum, s) => sum + s.customers, 0);
    const inOctober = transitions.filter((t) => t.to !== 'none').reduce((sum, t) => sum + t.customers, 0);
    expect(inOctober).toBe(october);

    const atRisk: { daysSinceLastPurchase: number; medianGapDays: number; purchaseDays: number }[] = (
      await app.inject({ headers, method: 'GET', url: '/api/reports/at-risk?to=2026-10-31' })
    ).json().customers;
    expect(atRisk.length).toBeGreaterThan(0);
    for (const customer of atRisk) {
      expect(customer.purchaseDays).toBeGreaterThanOrEqual(3);
      expect(customer.daysSinceLastPurchase).toBeGreaterThan(1.5 * customer.medianGapDays);
    }
    await app.close();
  });
});
