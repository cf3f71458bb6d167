import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer, type KizunaServer } from '../../src/api/server.ts';
import { type MailCatcher, startMailCatcher } from '../../src/campaigns/index.ts';
import { campaignReport, renderCampaignReport } from '../../src/campaigns/report.ts';
import { newcombeInterval } from '../../src/campaigns/statistics.ts';
import type { Database } from '../../src/db/index.ts';
import { loadCustomers, recordPurchases, tagSegment } from '../campaigns-fixture.ts';
import { tokenHeaders } from '../helpers/api.ts';
import { openTestDatabase } from '../helpers/database.ts';

/**
 * Scenario 3 (SCENARIOS.md): "Was it better than last time?" Through the API, as the marketer would: last
 * spring's mailing (version 1: 10 % off the spring notebook, 20 % holdout) was sent to 400 customers over
 * real SMTP; the marketer clones it, changes the offer to 20 % off, sends version 2 → its report compares
 * version 2 with version 1 on the same measure (a purchase of the notebook within 30 days).
 *
 * Version 1 is sent now and then moved back one year (touches, recipients and the campaign's times), as
 * if it had been sent last spring — the send itself cannot run in the past. The purchases are planted:
 * version 1: 16 of its 320 recipients buy (5 %), 6 of its 80 holdout members (7.5 %, no effect);
 * version 2: 40 of its 320 recipients buy (12.5 %), 6 of the holdout (7.5 %).
 * Version 2 − version 1 = 40/320 − 16/320 = 0.125 − 0.05 = +7.5 points.
 */
describe('scenario 3: was it better than last time?', () => {
  let database: Database;
  let app: KizunaServer;
  let catcher: MailCatcher;
  let headers: Record<string, string>;
  const previousSmtp = process.env.SMTP_URL;
  const DAY = 86_400_000;

  beforeAll(async () => {
    database = await openTestDatabase();
    catcher = await startMailCatcher();
    process.env.SMTP_URL = catcher.url;
    app = buildServer(database);
    await app.ready();
    await loadCustomers(
      database,
      Array.from({ length: 400 }, (_, i) => ({
        id: i + 1,
        name: `Customer${i + 1}`,
        consents: { email: true },
      })),
    );
    await database.db
      .insertInto('products')
      .values([
        {
          id: 1,
          sku: 'NOTEBOOK',
          name: 'Spring notebook',
          category: 'stationery',
          price: '1200',
          unit_cost: '700',
        },
        { id: 2, sku: 'PEN', name: 'Pen', category: 'stationery', price: '300', unit_cost: '100' },
      ])
      .execute();
    await tagSegment(database, 'spring audience');
    headers = await tokenHeaders(database, 'marketer');
  });

  afterAll(async () => {
    process.env.SMTP_URL = previousSmtp;
    if (previousSmtp === undefined) delete process.env.SMTP_URL;
    await app?.close();
    await catcher?.close();
    await database?.close();
  });

  /** Members of a campaign: the sent recipients with their touch time, and the holdout, by customer id. */
  async function members(campaignId: number) {
    const sent = await sql<{ customer_id: number; sent_at: Date }>`
      select t.customer_id, t.sent_at from touches t where t.campaign_id = ${campaignId} order by t.customer_id`.execute(
      database.db,
    );
    const holdout = await database.db
      .selectFrom('campaign_recipients')
      .select('customer_id')
      .where('campaign_id', '=', campaignId)
      .where('holdout', '=', true)
      .orderBy('customer_id')
      .execute();
    const campaign = await database.db
      .selectFrom('campaigns')
      .select('send_started_at')
      .where('id', '=', campaignId)
      .executeTakeFirstOrThrow();
    return {
      sent: sent.rows.map((r) => ({ id: Number(r.customer_id), at: new Date(r.sent_at) })),
      holdout: holdout.map((r) => r.customer_id),
      startedAt: campaign.send_started_at as Date,
    };
  }

  const buy = (customerId: number, at: Date, productId: number, price: number) =>
    recordPurchases(database, [{ customerId, at, productId, price }]);

  async function send(id: number) {
    const sent = await app.inject({
      method: 'POST',
      url: `/api/campaigns/${id}/send`,
      headers,
      payload: { wait: true },
    });
    expect(sent.statusCode, sent.body).toBe(200);
    return sent.json();
  }

  it('clones last spring’s mailing with a new offer and compares version 2 with version 1', async () => {
    // Version 1, last spring.
    const created = await app.inject({
      method: 'POST',
      url: '/api/campaigns',
      headers,
      payload: {
        name: 'spring notebook 2025',
        channel: 'email',
        goal: { kind: 'product', skus: ['NOTEBOOK'], windowDays: 30 },
        audience: { segment: 'spring audience' },
        variants: [
          {
            code: 'A',
            subject: 'Spring notebook',
            offer: '10% off',
            bodyText: 'Hello {{ customer.name }}: {{ offer }}',
          },
        ],
        holdoutShare: 0.2,
        seed: 2025,
        costPerTouch: '10',
      },
    });
    expect(created.statusCode, created.body).toBe(201);
    const v1 = created.json().id as number;
    expect(await send(v1)).toMatchObject({ sent: 320, failed: 0 });
    await sql`update touches set sent_at = sent_at - interval '365 days' where campaign_id = ${v1}`.execute(
      database.db,
    );
    await sql`update campaign_recipients set sent_at = sent_at - interval '365 days', claimed_at = claimed_at - interval '365 days'
      where campaign_id = ${v1}`.execute(database.db);
    await sql`update campaigns set created_at = created_at - interval '365 days', assigned_at = assigned_at - interval '365 days',
      send_started_at = send_started_at - interval '365 days', sent_at = sent_at - interval '365 days'
      where id = ${v1}`.execute(database.db);
    const first = await members(v1);
    expect([first.sent.length, first.holdout.length]).toEqual([320, 80]);
    for (const m of first.sent.slice(0, 16)) await buy(m.id, new Date(m.at.getTime() + 5 * DAY), 1, 1200);
    for (const id of first.holdout.slice(0, 6))
      await buy(id, new Date(first.startedAt.getTime() + 3 * DAY), 1, 1200);
    // Purchases that are not the goal, or too late, never count.
    for (const m of first.sent.slice(100, 110)) await buy(m.id, new Date(m.at.getTime() + 5 * DAY), 2, 300);
    for (const m of first.sent.slice(200, 205)) await buy(m.id, new Date(m.at.getTime() + 45 * DAY), 1, 1200);

    // Version 2: the same mailing, a new offer.
    const cloned = await app.inject({
      method: 'POST',
      url: `/api/campaigns/${v1}/clone`,
      headers,
      payload: {
        name: 'spring notebook 2026',
        variants: [
          {
            code: 'A',
            subject: 'Spring notebook',
            offer: '20% off',
            bodyText: 'Hello {{ customer.name }}: {{ offer }}',
          },
        ],
      },
    });
    expect(cloned.statusCode, cloned.body).toBe(201);
    const v2 = cloned.json().id as number;
    expect(cloned.json().previousCampaignId).toBe(v1);
    expect(await send(v2)).toMatchObject({ sent: 320, failed: 0 });
    const second = await members(v2);
    for (const m of second.sent.slice(0, 40)) await buy(m.id, new Date(m.at.getTime() + 5 * DAY), 1, 1200);
    for (const id of second.holdout.slice(0, 6))
      await buy(id, new Date(second.startedAt.getTime() + 3 * DAY), 1, 1200);

    const asOf = new Date(second.startedAt.getTime() + 40 * DAY).toISOString();
    const response = await app.inject({
      method: 'GET',
      url: `/api/campaigns/${v2}/report?asOf=${encodeURIComponent(asOf)}`,
      headers,
    });
    expect(response.statusCode, response.body).toBe(200);
    const report = response.json();

    // The same measure for both: a notebook within 30 days, last touch.
    expect(report.campaign.goal).toEqual({
      kind: 'product',
      productIds: [1],
      category: null,
      windowDays: 30,
    });
    expect(report.previous.campaign).toMatchObject({ id: v1, name: 'spring notebook 2025' });
    expect(report.treated).toMatchObject({ recipients: 320, responders: 40, revenue: '48000.00' });
    expect(report.previous.treated).toMatchObject({ recipients: 320, responders: 16, revenue: '19200.00' });
    expect(report.previous.holdout).toMatchObject({ recipients: 80, responders: 6 });
    // Version 2 − version 1 = 0.125 − 0.05.
    const difference = report.previous.treatedDifference;
    expect(difference.difference).toBeCloseTo(0.075, 12);
    const expected = newcombeInterval(40, 320, 16, 320)!;
    expect(difference.lower).toBeCloseTo(expected.lower, 12);
    expect(difference.upper).toBeCloseTo(expected.upper, 12);
    expect(difference.lower).toBeGreaterThan(0);
    // Profit after cost on margin: v2 40 × (1200 − 700) − 320 × 10 = 16,800; v1 16 × 500 − 3,200 = 4,800.
    expect(report.treated.profitAfterCost).toBe('16800.00');
    expect(report.previous.treated.profitAfterCost).toBe('4800.00');
    // Version 2 beat its holdout (12.5 % vs 7.5 %)? 40/320 vs 6/80: the interval still includes 0 at this size.
    expect(
      report.arms.find((a: { variant: string | null }) => a.variant === 'A').vsHoldout.difference,
    ).toBeCloseTo(0.05, 12);

    const text = renderCampaignReport(await campaignReport(database, v2, { asOf: new Date(asOf) }));
    expect(text).toContain('Version 2 vs version 1: compared with campaign');
    expect(text).toContain('spring notebook 2025');
    expect(text).toMatch(/Difference of response rates \(this − previous\): \+7\.50 pt/);
  });
  // A clone that changes only the offer must keep the source's goal, holdout and seed, or version 2 would not
  // be measured like version 1.
  it('a clone that changes only the offer keeps the goal, holdout and seed of the source', async () => {
    const source = await app.inject({
      method: 'POST',
      url: '/api/campaigns',
      headers,
      payload: {
        name: 'autumn notebook 2025',
        channel: 'email',
        goal: { kind: 'product', skus: ['NOTEBOOK'], windowDays: 21 },
        audience: { segment: 'spring audience' },
        variants: [{ code: 'A', subject: 'Autumn', offer: '10% off' }],
        holdoutShare: 0.2,
        seed: 7,
      },
    });
    expect(source.statusCode, source.body).toBe(201);
    const cloned = await app.inject({
      method: 'POST',
      url: `/api/campaigns/${source.json().id}/clone`,
      headers,
      payload: {
        name: 'autumn notebook 2026',
        variants: [{ code: 'A', subject: 'Autumn', offer: '20% off' }],
      },
    });
    expect(cloned.statusCode, cloned.body).toBe(201);
    expect(cloned.json()).toMatchObject({
      goal: { kind: 'product', productIds: [1], windowDays: 21 },
      holdoutShare: 0.2,
      seed: 7,
    });
  });
});
