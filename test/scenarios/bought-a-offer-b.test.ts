import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer, type KizunaServer } from '../../src/api/server.ts';
import type { MailCatcher } from '../../src/campaigns/index.ts';
import type { Database } from '../../src/db/index.ts';
import { loadCustomers, recordPurchases } from '../campaigns-fixture.ts';
import { tokenHeaders } from '../helpers/api.ts';
import { openTestDatabase } from '../helpers/database.ts';
import { catchSmtp, type SmtpCatcher } from '../helpers/smtp.ts';

/**
 * Scenario 2 (SCENARIOS.md): "Bought A, offer B." A marketer builds "bought product A in the last year,
 * never bought B", sees the count while editing, sends a mailing about B with two copy variants and a 10 %
 * holdout → 30 days later the report shows responders per variant and holdout, lift with an interval, the
 * winner, cost and profit.
 *
 * The shop: 400 customers bought the pen (A) in the last year and never the notebook (B) — the audience;
 * 50 bought both, 50 bought only the notebook and 30 bought the pen two years ago: none of them belong.
 * After the send the purchases are planted by arm, as the true effect: copy "story" makes every third
 * recipient (by position) buy the notebook within the window, copy "plain" every tenth, the holdout one in
 * forty. Hand-counted expectations follow from those rules, not from the report.
 */
describe('scenario 2: bought A, offer B', () => {
  let database: Database;
  let app: KizunaServer;
  let catcher: MailCatcher;
  let smtp: SmtpCatcher;
  let headers: Record<string, string>;
  const DAY = 86_400_000;
  const now = Date.now();

  type Purchase = [customerId: number, at: Date, sku: 'PEN' | 'NOTEBOOK'];

  /** One order of one item per purchase: a pen (product 1) at 300 or a notebook (product 2) at 3,000. */
  const buy = (purchases: readonly Purchase[]) =>
    recordPurchases(
      database,
      purchases.map(([customerId, at, sku]) => ({
        customerId,
        at,
        ...(sku === 'PEN' ? { productId: 1, price: 300 } : { productId: 2, price: 3000 }),
      })),
    );

  beforeAll(async () => {
    database = await openTestDatabase();
    smtp = await catchSmtp();
    catcher = smtp.catcher;
    app = buildServer(database);
    await app.ready();
    await loadCustomers(
      database,
      Array.from({ length: 530 }, (_, i) => ({
        id: i + 1,
        name: `Customer${i + 1}`,
        consents: { email: true },
        tags: [],
      })),
    );
    await database.db
      .insertInto('products')
      .values([
        { id: 1, sku: 'PEN', name: 'Fountain pen', category: 'stationery', price: '300', unit_cost: '100' },
        {
          id: 2,
          sku: 'NOTEBOOK',
          name: 'Leather notebook',
          category: 'stationery',
          price: '3000',
          unit_cost: '1800',
        },
      ])
      .execute();
    const monthsAgo = (n: number) => new Date(now - n * 30 * DAY);
    const ids = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
    await buy([
      ...ids(1, 400).map((id): Purchase => [id, monthsAgo(1 + (id % 10)), 'PEN']),
      ...ids(401, 450).flatMap((id): Purchase[] => [
        [id, monthsAgo(3), 'PEN'],
        [id, monthsAgo(2), 'NOTEBOOK'],
      ]),
      ...ids(451, 500).map((id): Purchase => [id, monthsAgo(4), 'NOTEBOOK']),
      ...ids(501, 530).map((id): Purchase => [id, monthsAgo(24), 'PEN']),
    ]);
    headers = await tokenHeaders(database, 'marketer');
  });

  afterAll(async () => {
    await app?.close();
    await smtp?.close();
    await database?.close();
  });

  const audienceRules = (withinDays?: number) => ({
    template: 'bought-a-not-b',
    params: { a: 'sku:PEN', b: 'sku:NOTEBOOK', ...(withinDays ? { withinDays } : {}) },
  });

  it('counts the audience while editing, mails two copies with a 10 % holdout, and reports the winner 30 days later', async () => {
    // Editing: first "bought the pen, never the notebook" ever, then limited to the last year.
    const count = async (body: object) => {
      const response = await app.inject({
        method: 'POST',
        url: '/api/segments/count',
        headers,
        payload: body,
      });
      expect(response.statusCode, response.body).toBe(200);
      return response.json().members as number;
    };
    expect(await count(audienceRules())).toBe(430);
    expect(await count(audienceRules(365))).toBe(400);

    const saved = await app.inject({
      method: 'POST',
      url: '/api/segments',
      headers,
      payload: { name: 'pen, no notebook', ...audienceRules(365) },
    });
    expect(saved.statusCode, saved.body).toBe(201);

    const created = await app.inject({
      method: 'POST',
      url: '/api/campaigns',
      headers,
      payload: {
        name: 'notebook for pen owners',
        channel: 'email',
        goal: { kind: 'product', skus: ['NOTEBOOK'], windowDays: 30 },
        audience: { segment: 'pen, no notebook' },
        variants: [
          {
            code: 'plain',
            subject: 'The leather notebook',
            bodyText: 'Dear {{ customer.name }}, our leather notebook is in store.',
          },
          {
            code: 'story',
            subject: '{{ customer.name }}, a notebook worthy of your pen',
            bodyText: 'Dear {{ customer.name }}, the pen you chose deserves paper to match.',
          },
        ],
        holdoutShare: 0.1,
        seed: 7,
        costPerTouch: '50',
      },
    });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json().id as number;

    const sent = await app.inject({
      method: 'POST',
      url: `/api/campaigns/${id}/send`,
      headers,
      payload: { wait: true },
    });
    expect(sent.statusCode, sent.body).toBe(200);
    expect(sent.json()).toMatchObject({ sent: 360, failed: 0, suppressed: 0 });

    // Every recipient got one mail in their variant's copy; the holdout got none.
    const recipients = await sql<{ customer_id: number; variant: string | null; sent_at: Date | null }>`
      select customer_id, variant, sent_at from campaign_recipients where campaign_id = ${id}
      order by customer_id`.execute(database.db);
    const arm = (variant: string | null) =>
      recipients.rows.filter((r) => r.variant === variant).map((r) => Number(r.customer_id));
    const plain = arm('plain');
    const story = arm('story');
    const holdout = arm(null);
    expect(holdout).toHaveLength(40);
    expect(plain.length + story.length).toBe(360);
    expect(catcher.stats()).toMatchObject({ received: 360, duplicates: 0 });
    const mails = await catcher.list({ limit: 1000 });
    const storyMail = mails.find((m) => m.to.includes(`customer${story[0]}@example.jp`));
    expect(storyMail?.subject).toBe(`Customer${story[0]}, a notebook worthy of your pen`);
    const plainMail = mails.find((m) => m.to.includes(`customer${plain[0]}@example.jp`));
    expect(plainMail?.subject).toBe('The leather notebook');

    // The true effect, planted: purchases of the notebook 5 days after the send, and some that never count
    // (a pen, or a notebook after the 30-day window).
    const startedAt = (
      await database.db
        .selectFrom('campaigns')
        .select('send_started_at')
        .where('id', '=', id)
        .executeTakeFirstOrThrow()
    ).send_started_at as Date;
    const inWindow = new Date(startedAt.getTime() + 5 * DAY);
    const buyers = {
      story: story.filter((_, i) => i % 3 === 0),
      plain: plain.filter((_, i) => i % 10 === 0),
      holdout: holdout.filter((_, i) => i % 40 === 0),
    };
    const tooLate = new Date(startedAt.getTime() + 40 * DAY);
    await buy([
      ...[...buyers.story, ...buyers.plain, ...buyers.holdout].map(
        (c): Purchase => [c, inWindow, 'NOTEBOOK'],
      ),
      ...plain.slice(1, 6).map((c): Purchase => [c, inWindow, 'PEN']),
      ...story.slice(1, 4).map((c): Purchase => [c, tooLate, 'NOTEBOOK']),
    ]);

    const asOf = new Date(startedAt.getTime() + 31 * DAY).toISOString();
    const response = await app.inject({
      method: 'GET',
      url: `/api/campaigns/${id}/report?asOf=${encodeURIComponent(asOf)}`,
      headers,
    });
    expect(response.statusCode, response.body).toBe(200);
    const report = response.json();
    expect(report.goalWindow.closed).toBe(true);

    const arms = Object.fromEntries(
      report.arms.map((a: { variant: string | null }) => [a.variant ?? 'holdout', a]),
    );
    expect(arms.story).toMatchObject({ recipients: story.length, responders: buyers.story.length });
    expect(arms.plain).toMatchObject({ recipients: plain.length, responders: buyers.plain.length });
    expect(arms.holdout).toMatchObject({ assigned: 40, responders: 1 });

    // Lift of "story" over the holdout, by hand: rates and their difference.
    const storyRate = buyers.story.length / story.length;
    expect(arms.story.responseRate.rate).toBeCloseTo(storyRate, 12);
    expect(arms.story.vsHoldout.difference).toBeCloseTo(storyRate - 1 / 40, 12);
    expect(arms.story.vsHoldout.lower).toBeGreaterThan(0);
    expect(arms.story.vsHoldout.lower).toBeLessThan(arms.story.vsHoldout.difference);
    expect(arms.story.vsHoldout.upper).toBeGreaterThan(arms.story.vsHoldout.difference);
    expect(arms.story.vsHoldout.pValue).toBeLessThan(0.05);
    expect(report.winner.variant).toBe('story');

    // Cost and profit on margin: each notebook earns 3000 − 1800 = 1200; each mail costs 50.
    expect(arms.story.revenue).toBe(`${buyers.story.length * 3000}.00`);
    expect(arms.story.cost).toBe(`${story.length * 50}.00`);
    expect(arms.story.profitAfterCost).toBe(`${buyers.story.length * 1200 - story.length * 50}.00`);
    expect(report.treated.cost).toBe('18000.00');
  });
});
