import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CampaignReportResponse } from '../src/api/campaign-report.routes.ts';
import { buildServer } from '../src/api/index.ts';
import type { Database } from '../src/db/index.ts';
import { tokenHeaders } from './helpers/api.ts';
import { openTestDatabase } from './helpers/database.ts';

/**
 * GET /api/campaigns/:id/report on a small campaign worked out by hand: 40 customers, variant A (ids 1–20)
 * and the holdout (ids 21–40), all sent on 2026-04-01. Responders (any purchase within 14 days): A 8 of 20
 * (customers 1–8, 500 each), holdout 2 of 20 (customers 21–22, 500 each); customer 9 bought on day 20,
 * after the window.
 *
 * Rates: A 8/20 = 40 %, holdout 2/20 = 10 %; difference 30 points. Pooled z-test: p̄ = 10/40 = 0.25,
 * se = √(0.25 × 0.75 × (1/20 + 1/20)) = √0.01875 = 0.136931, z = 0.3 / 0.136931 = 2.19089,
 * p = 2 × (1 − Φ(2.19089)) = 0.02846. Cost 20 × 80 = 1600; revenue 4000, no unit costs → profit after cost
 * on revenue: 4000 − 1600 = 2400.
 */
let database: Database;
let app: ReturnType<typeof buildServer>;
let campaignId = 0;

beforeAll(async () => {
  database = await openTestDatabase();
  app = buildServer(database);
  const db = database.db;
  await sql`insert into customers (id, name) select g, 'C' || g from generate_series(1, 40) g`.execute(db);
  await db
    .insertInto('products')
    .values({ id: 1, sku: 'X', name: 'X', category: 'c', price: '500' })
    .execute();
  const campaign = await db
    .insertInto('campaigns')
    .values({
      name: 'spring mailing',
      channel: 'email',
      created_by_name: 'test',
      goal_kind: 'any',
      goal_window_days: 14,
      send_started_at: new Date('2026-04-01T09:00:00Z'),
      status: 'sent',
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  campaignId = campaign.id;
  await db
    .insertInto('campaign_variants')
    .values({ campaign_id: campaignId, code: 'A', content: '{}' })
    .execute();
  await sql`insert into campaign_recipients (customer_id, campaign_id, variant, holdout, state, sent_at)
    select g, ${campaignId}, case when g <= 20 then 'A' end, g > 20, case when g <= 20 then 'sent' else 'held_out' end,
           case when g <= 20 then timestamptz '2026-04-01T09:00:00Z' end
    from generate_series(1, 40) g`.execute(db);
  await sql`insert into touches (customer_id, channel, campaign, campaign_id, variant, cost, sent_at)
    select g, 'email', 'spring mailing', ${campaignId}, 'A', 80, timestamptz '2026-04-01T09:00:00Z'
    from generate_series(1, 20) g`.execute(db);
  const buyers: Array<[number, string]> = [
    ...[1, 2, 3, 4, 5, 6, 7, 8].map((id): [number, string] => [id, '2026-04-05T10:00:00Z']),
    [9, '2026-04-21T10:00:00Z'],
    [21, '2026-04-03T10:00:00Z'],
    [22, '2026-04-10T10:00:00Z'],
  ];
  for (const [customerId, at] of buyers) {
    const order = await db
      .insertInto('orders')
      .values({
        customer_id: customerId,
        external_id: `O${customerId}`,
        ordered_at: new Date(at),
        total: '500',
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await db
      .insertInto('order_lines')
      .values({
        customer_id: customerId,
        order_id: order.id,
        line_no: 1,
        product_id: 1,
        quantity: 1,
        unit_price: '500',
        amount: '500',
      })
      .execute();
  }
});

afterAll(async () => {
  await app?.close();
  await database?.close();
});

describe('GET /api/campaigns/:id/report', () => {
  it('answers the report, in the documented shape, with the hand-worked numbers', async () => {
    const response = await app.inject({
      method: 'GET',
      url: `/api/campaigns/${campaignId}/report?asOf=2026-06-30`,
      headers: await tokenHeaders(database, 'marketer'),
    });
    expect(response.statusCode).toBe(200);
    const report = CampaignReportResponse.parse(response.json());
    const a = report.arms.find((arm) => arm.variant === 'A');
    const holdout = report.arms.find((arm) => arm.variant === null);
    expect([a?.recipients, a?.responders, holdout?.recipients, holdout?.responders]).toEqual([20, 8, 20, 2]);
    expect(a?.responseRate.rate).toBeCloseTo(0.4, 12);
    expect(a?.vsHoldout?.difference).toBeCloseTo(0.3, 12);
    expect(a?.vsHoldout?.pValue).toBeCloseTo(0.02846, 4);
    expect(a?.vsHoldout?.relativeLift).toBeCloseTo(3, 12);
    expect(a?.revenue).toBe('4000.00');
    expect(a?.cost).toBe('1600.00');
    expect(report.profitBasis).toBe('revenue');
    expect(a?.profitAfterCost).toBe('2400.00');
    // Incremental: revenue per recipient 4000/20 = 200 vs 1000/20 = 50 → (200 − 50) × 20 = 3000 extra revenue,
    // − 1600 cost = 1400; (0.4 − 0.1) × 20 = 6 extra buyers.
    expect(a?.incremental?.revenue).toBeCloseTo(3000, 6);
    expect(a?.incremental?.profitAfterCost).toBeCloseTo(1400, 6);
    expect(a?.incremental?.responders).toBeCloseTo(6, 9);
    // Welch: A = 8 × 500 and 12 × 0 (mean 200, variance 63,157.89), holdout = 2 × 500 and 18 × 0 (mean 50,
    // variance 23,684.21); se = √(63157.89/20 + 23684.21/20) = 65.8947, df = 31.49, t = 2.03822 (scipy's
    // t.ppf(0.975, 31.49)) → 150 ± 134.31 = 15.69 to 284.31.
    expect(a?.revenuePerRecipientVsHoldout?.difference).toBeCloseTo(150, 9);
    expect(a?.revenuePerRecipientVsHoldout?.lower).toBeCloseTo(15.69, 1);
    expect(a?.revenuePerRecipientVsHoldout?.upper).toBeCloseTo(284.31, 1);
    expect(report.asOf).toBe('2026-06-30T23:59:59.999Z');
    expect(report.goalWindow.closesAt).toBe('2026-04-15T09:00:00.000Z');
    expect(report.goalWindow.closed).toBe(true);
  });

  it('first touch and an early asOf', async () => {
    const response = await app.inject({
      method: 'GET',
      url: `/api/campaigns/${campaignId}/report?attribution=first_touch&asOf=2026-04-04T00:00:00Z`,
      headers: await tokenHeaders(database, 'marketer'),
    });
    expect(response.statusCode).toBe(200);
    const report = response.json();
    expect(report.attribution).toBe('first_touch');
    expect(report.goalWindow.closed).toBe(false);
    // Only the holdout's 04-03 purchase has happened by then.
    expect(report.arms.map((arm: { responders: number }) => arm.responders)).toEqual([0, 1]);
  });

  it('refuses a bad attribution rule, an unknown campaign and a role without reports:read', async () => {
    const headers = await tokenHeaders(database, 'marketer');
    const bad = await app.inject({
      method: 'GET',
      url: `/api/campaigns/${campaignId}/report?attribution=linear`,
      headers,
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.field).toBe('attribution');
    const missing = await app.inject({ method: 'GET', url: '/api/campaigns/999999/report', headers });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('campaign_not_found');
    const clerk = await app.inject({
      method: 'GET',
      url: `/api/campaigns/${campaignId}/report`,
      headers: await tokenHeaders(database, 'store_staff'),
    });
    expect(clerk.statusCode).toBe(403);
  });
});
