import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { campaignReport, renderCampaignReport } from '../src/campaigns/report.ts';
import { newcombeInterval } from '../src/campaigns/statistics.ts';
import type { Database } from '../src/db/index.ts';
import { openTestDatabase } from './helpers/database.ts';

/**
 * Planted effects: 20,000 customers, a 10 % holdout and variants A and B; each member buys the goal
 * product inside the window with a known probability drawn from a seeded generator — 3 % in the holdout,
 * 4 % for A, 6 % for B — plus purchases that must not count (another product inside the window, the goal
 * product after the window). The report must count exactly the planted responders, its intervals must
 * contain the true differences, and B must win. A second campaign with the same 3 % everywhere must have
 * no winner.
 */

/** mulberry32: a small seeded generator, so every run draws the same customers. */
function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const CUSTOMERS = 20_000;
const DAY = 86_400_000;
let database: Database;
let customerIds: number[] = [];
let goalProduct = 0;
let otherProduct = 0;
let orderSeq = 0;

type Planted = {
  campaignId: number;
  responders: Record<string, number>;
  recipients: Record<string, number>;
  suppressed: Record<string, number>;
};

async function insertOrders(
  orders: Array<{ customerId: number; at: Date; productId: number; amount: number }>,
): Promise<void> {
  if (orders.length === 0) return;
  const externals = orders.map(() => `PO${++orderSeq}`);
  await sql`
    with input as (
      select * from unnest(${orders.map((o) => o.customerId)}::bigint[], ${externals}::text[],
                           ${orders.map((o) => o.at.toISOString())}::timestamptz[], ${orders.map((o) => o.productId)}::bigint[],
                           ${orders.map((o) => String(o.amount))}::numeric[]) as i (customer_id, external_id, ordered_at, product_id, amount)
    ),
    inserted as (
      insert into orders (customer_id, external_id, ordered_at, total)
      select customer_id, external_id, ordered_at, amount from input
      returning customer_id, id, external_id
    )
    insert into order_lines (customer_id, order_id, line_no, product_id, quantity, unit_price, amount)
    select i.customer_id, o.id, 1, i.product_id, 1, i.amount, i.amount
    from inserted o join input i on i.external_id = o.external_id`.execute(database.db);
}

/**
 * A campaign over all customers starting at `start`, with true response probabilities per arm. Returns
 * the planted counts (what the report must find).
 */
async function plantCampaign(
  name: string,
  start: Date,
  truth: { holdout: number; A: number; B: number },
  seed: number,
  previousId: number | null = null,
): Promise<Planted> {
  const random = generator(seed);
  const campaign = await database.db
    .insertInto('campaigns')
    .values({
      name,
      channel: 'email',
      created_by_name: 'test',
      goal_kind: 'product',
      goal_product_ids: [goalProduct],
      goal_window_days: 30,
      holdout_share: '0.1',
      cost_per_touch: '50',
      send_started_at: start,
      sent_at: new Date(start.getTime() + DAY),
      status: 'sent',
      previous_campaign_id: previousId,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  await database.db
    .insertInto('campaign_variants')
    .values([
      { campaign_id: campaign.id, code: 'A', name: 'copy A', content: '{}' },
      { campaign_id: campaign.id, code: 'B', name: 'copy B', content: '{}' },
    ])
    .execute();
  // Shuffle (Fisher–Yates), 10 % holdout, the rest alternately A and B.
  const order = [...customerIds];
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  const holdoutSize = Math.round(order.length * 0.1);
  const rows: Array<{
    id: number;
    arm: 'holdout' | 'A' | 'B';
    state: string;
    reason: string | null;
    at: Date;
  }> = [];
  order.forEach((id, index) => {
    const arm = index < holdoutSize ? 'holdout' : (index - holdoutSize) % 2 === 0 ? 'A' : 'B';
    const suppressed = arm !== 'holdout' && index % 97 === 0;
    rows.push({
      id,
      arm,
      state: arm === 'holdout' ? 'held_out' : suppressed ? 'suppressed' : 'sent',
      reason: suppressed ? (index % 2 === 0 ? 'no_consent:email' : 'frequency_cap') : null,
      at: new Date(start.getTime() + (index % 3600) * 1000),
    });
  });
  await sql`
    insert into campaign_recipients (customer_id, campaign_id, variant, holdout, state, reason, sent_at)
    select customer_id, ${campaign.id}, nullif(arm, 'holdout'), arm = 'holdout', state, reason,
           case when state = 'sent' then at end
    from unnest(${rows.map((r) => r.id)}::bigint[], ${rows.map((r) => r.arm)}::text[], ${rows.map((r) => r.state)}::text[],
                ${rows.map((r) => r.reason)}::text[], ${rows.map((r) => r.at.toISOString())}::timestamptz[])
      as i (customer_id, arm, state, reason, at)`.execute(database.db);
  await sql`
    insert into touches (customer_id, channel, campaign, campaign_id, variant, cost, sent_at)
    select customer_id, 'email', ${name}, campaign_id, variant, 50, sent_at
    from campaign_recipients where campaign_id = ${campaign.id} and state = 'sent'`.execute(database.db);

  const planted: Planted = {
    campaignId: campaign.id,
    responders: { holdout: 0, A: 0, B: 0 },
    recipients: { holdout: 0, A: 0, B: 0 },
    suppressed: { A: 0, B: 0 },
  };
  const orders: Array<{ customerId: number; at: Date; productId: number; amount: number }> = [];
  for (const row of rows) {
    if (row.state === 'suppressed') {
      planted.suppressed[row.arm] = (planted.suppressed[row.arm] ?? 0) + 1;
      continue;
    }
    planted.recipients[row.arm] = (planted.recipients[row.arm] ?? 0) + 1;
    // The holdout's window opens at the campaign's start; a recipient's at their touch.
    const anchor = row.arm === 'holdout' ? start.getTime() : row.at.getTime();
    if (random() < truth[row.arm]) {
      planted.responders[row.arm] = (planted.responders[row.arm] ?? 0) + 1;
      orders.push({
        customerId: row.id,
        at: new Date(anchor + random() * 29 * DAY),
        productId: goalProduct,
        amount: 1000,
      });
    }
    // Noise that must not count: another product inside the window, the goal product after it.
    if (random() < 0.05) {
      orders.push({
        customerId: row.id,
        at: new Date(anchor + random() * 29 * DAY),
        productId: otherProduct,
        amount: 700,
      });
    }
    if (random() < 0.03) {
      orders.push({
        customerId: row.id,
        at: new Date(anchor + (31 + random() * 20) * DAY),
        productId: goalProduct,
        amount: 1000,
      });
    }
  }
  await insertOrders(orders);
  return planted;
}

let effect: Planted;
let nullCase: Planted;
const EFFECT_START = new Date('2026-01-05T09:00:00Z');
const NULL_START = new Date('2026-05-04T09:00:00Z');
const AFTER_BOTH = new Date('2026-08-01T00:00:00Z');

beforeAll(async () => {
  database = await openTestDatabase();
  await sql`insert into customers (external_id) select 'PE' || g from generate_series(1, ${CUSTOMERS}) g`.execute(
    database.db,
  );
  customerIds = (await database.db.selectFrom('customers').select('id').orderBy('id').execute()).map(
    (r) => r.id,
  );
  const products = await database.db
    .insertInto('products')
    .values([
      { sku: 'GOAL', name: 'goal product', category: 'books', price: '1000', unit_cost: '600' },
      { sku: 'OTHER', name: 'other product', category: 'books', price: '700', unit_cost: '400' },
    ])
    .returning(['id', 'sku'])
    .execute();
  goalProduct = products.find((p) => p.sku === 'GOAL')?.id as number;
  otherProduct = products.find((p) => p.sku === 'OTHER')?.id as number;
  effect = await plantCampaign('planted effect', EFFECT_START, { holdout: 0.03, A: 0.04, B: 0.06 }, 20260105);
  nullCase = await plantCampaign(
    'no effect',
    NULL_START,
    { holdout: 0.03, A: 0.03, B: 0.03 },
    7,
    effect.campaignId,
  );
});

afterAll(async () => {
  await database?.close();
});

describe('planted effect: holdout 3 %, A 4 %, B 6 %', () => {
  it('counts exactly the planted responders, recipients and refusals', async () => {
    const report = await campaignReport(database, effect.campaignId, { asOf: AFTER_BOTH });
    const arm = (variant: string | null) => report.arms.find((a) => a.variant === variant);
    for (const [name, variant] of [
      ['holdout', null],
      ['A', 'A'],
      ['B', 'B'],
    ] as const) {
      expect(arm(variant)?.responders, name).toBe(effect.responders[name]);
      expect(arm(variant)?.recipients, name).toBe(effect.recipients[name]);
      // Every responder bought one goal product for 1000; the other product and late purchases do not count.
      expect(arm(variant)?.revenue, name).toBe(`${(effect.responders[name] as number) * 1000}.00`);
    }
    expect(arm('A')?.suppressed).toBe(effect.suppressed.A);
    expect(arm('B')?.suppressed).toBe(effect.suppressed.B);
    expect(arm('A')?.assigned).toBe((effect.recipients.A as number) + (effect.suppressed.A as number));
    expect(
      report.treated.suppressedByReason['no_consent:email']! +
        report.treated.suppressedByReason.frequency_cap!,
    ).toBe((effect.suppressed.A as number) + (effect.suppressed.B as number));
    expect(arm(null)?.recipients).toBe(2000);
    // Cost: 50 per touch. Profit: margin 400 per goal purchase (1000 − 600) minus the cost.
    const b = arm('B');
    expect(b?.cost).toBe(`${(effect.recipients.B as number) * 50}.00`);
    expect(report.profitBasis).toBe('margin');
    expect(b?.profitAfterCost).toBe(
      `${(effect.responders.B as number) * 400 - (effect.recipients.B as number) * 50}.00`,
    );
    expect(report.goalWindow.closed).toBe(true);
  });

  it('its intervals contain the true differences and B wins', async () => {
    const report = await campaignReport(database, effect.campaignId, { asOf: AFTER_BOTH });
    const a = report.arms.find((x) => x.variant === 'A');
    const b = report.arms.find((x) => x.variant === 'B');
    const holdout = report.arms.find((x) => x.variant === null);
    if (!a?.vsHoldout || !b?.vsHoldout || !holdout) throw new Error('missing arms');
    expect(a.vsHoldout.lower).toBeLessThan(0.01);
    expect(a.vsHoldout.upper).toBeGreaterThan(0.01);
    expect(b.vsHoldout.lower).toBeLessThan(0.03);
    expect(b.vsHoldout.upper).toBeGreaterThan(0.03);
    expect(b.vsHoldout.lower).toBeGreaterThan(0);
    expect(b.vsHoldout.pValue).toBeLessThan(0.05);
    // Each rate's Wilson interval contains its true rate.
    for (const [arm, truth] of [
      [holdout, 0.03],
      [a, 0.04],
      [b, 0.06],
    ] as const) {
      expect(arm.responseRate.lower).toBeLessThan(truth);
      expect(arm.responseRate.upper).toBeGreaterThan(truth);
    }
    // B − A (+2 points), from the report's own counts.
    const bMinusA = newcombeInterval(b.responders, b.recipients, a.responders, a.recipients);
    expect(bMinusA?.lower).toBeLessThan(0.02);
    expect(bMinusA?.upper).toBeGreaterThan(0.02);
    expect(report.winner.variant).toBe('B');
    expect(report.winner.provisional).toBe(false);
    expect(report.winner.rule).toMatch(/Newcombe/);
  });

  it('before the window has closed the report is provisional and counts only purchases so far', async () => {
    const early = new Date(EFFECT_START.getTime() + 10 * DAY);
    const report = await campaignReport(database, 'planted effect', { asOf: early });
    expect(report.goalWindow.closed).toBe(false);
    expect(report.winner.provisional).toBe(true);
    const b = report.arms.find((x) => x.variant === 'B');
    expect(b?.responders).toBeGreaterThan(0);
    expect(b?.responders).toBeLessThan(effect.responders.B as number);
    expect(report.notes.join(' ')).toMatch(/provisional/);
  });

  it('renders a plain-text report', async () => {
    const text = renderCampaignReport(
      await campaignReport(database, effect.campaignId, { asOf: AFTER_BOTH }),
    );
    expect(text).toContain('Winner: B');
    expect(text).toMatch(/holdout\s+2,000\s+2,000/);
    expect(text).toContain('no_consent:email');
    expect(text).toContain('lift vs holdout (95% CI)');
  });
});

describe('no effect: 3 % everywhere', () => {
  it('declares no winner, and compares with the previous campaign', async () => {
    const report = await campaignReport(database, nullCase.campaignId, { asOf: AFTER_BOTH });
    expect(report.winner.variant).toBeNull();
    expect(report.winner.reason).toMatch(/includes 0/);
    const b = report.arms.find((x) => x.variant === 'B');
    expect(b?.vsHoldout?.lower).toBeLessThan(0);
    expect(b?.vsHoldout?.upper).toBeGreaterThan(0);
    expect(report.arms.find((x) => x.variant === 'A')?.responders).toBe(nullCase.responders.A);

    // Version 2 (3 % everywhere) vs version 1 (A 4 %, B 6 % → treated about 5 %): about −2 points.
    const previous = report.previous;
    expect(previous?.campaign.id).toBe(effect.campaignId);
    const v1 = (effect.responders.A as number) + (effect.responders.B as number);
    expect(previous?.treated.responders).toBe(v1);
    const v2 = (nullCase.responders.A as number) + (nullCase.responders.B as number);
    expect(report.treated.responders).toBe(v2);
    const n1 = (effect.recipients.A as number) + (effect.recipients.B as number);
    const n2 = (nullCase.recipients.A as number) + (nullCase.recipients.B as number);
    expect(previous?.treatedDifference?.difference).toBeCloseTo(v2 / n2 - v1 / n1, 12);
    expect(previous?.treatedDifference?.lower).toBeLessThan(-0.02);
    expect(previous?.treatedDifference?.upper).toBeGreaterThan(-0.02);
    expect(renderCampaignReport(report)).toContain('Version 2 vs version 1');
  });

  it('an unknown campaign is a 404', async () => {
    await expect(campaignReport(database, 'no such campaign')).rejects.toMatchObject({
      code: 'campaign_not_found',
      status: 404,
    });
  });
});
