import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fitClv, predictClv } from '../../src/analytics/clv/index.ts';
import { buildServer } from '../../src/api/index.ts';
import type { Database } from '../../src/db/index.ts';
import { generateDemo } from '../../src/demo/index.ts';
import { loadDemo } from '../../src/demo/load-demo.ts';
import { tokenHeaders } from '../helpers/api.ts';
import { openTestDatabase } from '../helpers/database.ts';

/**
 * Scenario 11 (SCENARIOS.md): the owner opens a customer → expected purchases next year, probability
 * still active, lifetime value; the dashboard → customer equity (its change since last month is tested in
 * clv-service.test.ts). Checked against the demo generator's ground truth, not against the model itself.
 */
describe('scenario 11: what is a customer worth?', () => {
  const demo = { customers: 3000, seed: 11 };
  let database: Database;
  beforeAll(async () => {
    database = await openTestDatabase();
    await loadDemo(database, demo);
    await fitClv(database, { calibrationEnd: '2026-10-31' });
    await predictClv(database);
  });
  afterAll(async () => database.close());

  it('shows a customer’s expected purchases, probability alive and CLV, and the equity on the dashboard', async () => {
    const app = buildServer(database);
    const headers = await tokenHeaders(database, 'owner');
    const one = await app.inject({ headers, method: 'GET', url: '/api/customers/C0000001/clv' });
    expect(one.statusCode).toBe(200);
    const value = one.json();
    expect(value.probability_alive).toBeGreaterThanOrEqual(0);
    expect(value.probability_alive).toBeLessThanOrEqual(1);
    expect(value.expected_purchases_next_year).toBeGreaterThanOrEqual(0);
    expect(Number(value.clv)).toBeGreaterThanOrEqual(0);
    const equity = (await app.inject({ headers, method: 'GET', url: '/api/clv/equity' })).json();
    expect(equity.customers).toBe(demo.customers);
    expect(Number(equity.equity)).toBeGreaterThan(0);
    await app.close();
  });

  it('ranks customers like the truth: predicted purchases track the true expectation, P(alive) separates the living', async () => {
    const truth = new Map<string, { alive: boolean; expected: number }>();
    for (const row of generateDemo(demo).latent()) {
      truth.set(row.external_id!, {
        alive: row.alive_at_as_of === 'yes',
        expected: Number(row.expected_purchases_52w),
      });
    }
    const rows = await database.db
      .selectFrom('customer_clv')
      .innerJoin('customers', 'customers.id', 'customer_clv.customer_id')
      .select([
        'customers.external_id',
        'customer_clv.probability_alive',
        'customer_clv.expected_purchases_next_year',
      ])
      .execute();
    expect(rows).toHaveLength(demo.customers);
    const predicted: number[] = [];
    const actual: number[] = [];
    const aliveP: number[] = [];
    const goneP: number[] = [];
    for (const r of rows) {
      const t = truth.get(r.external_id!)!;
      predicted.push(r.expected_purchases_next_year);
      actual.push(t.expected);
      (t.alive ? aliveP : goneP).push(r.probability_alive);
    }
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    const mp = mean(predicted);
    const ma = mean(actual);
    let cov = 0;
    let vp = 0;
    let va = 0;
    predicted.forEach((p, i) => {
      cov += (p - mp) * (actual[i]! - ma);
      vp += (p - mp) ** 2;
      va += (actual[i]! - ma) ** 2;
    });
    const correlation = cov / Math.sqrt(vp * va);
    // Measured 0.81 (mean P(alive) 0.83 for the truly alive, 0.24 for those gone) with seed 11; the demo's
    // lens/glasses cycles are purchases BG/NBD does not model, so the bar is set below that.
    expect(correlation).toBeGreaterThan(0.5);
    expect(mean(aliveP) - mean(goneP)).toBeGreaterThan(0.4);
  });
});
