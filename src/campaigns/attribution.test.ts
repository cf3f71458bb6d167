import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase } from '../../test/helpers/database.ts';
import type { Database } from '../db/index.ts';
import { attributionByArm, creditedPurchases } from './attribution.ts';

/**
 * A hand-made campaign small enough to work out on paper. Campaign X (goal: product P1 within 30 days,
 * started 2026-03-01 10:00 UTC, variants A/B and a holdout), campaign Y (goal: any purchase within 14
 * days) and campaign Z (goal: category "stationery" within 30 days) compete for some of the same orders.
 *
 * Products: P1 (books, 1000, cost 600) is X's goal; P2 (books, cost 500) is not; P3 (stationery, 300, no
 * unit cost).
 *
 * | customer | X arm          | touches              | orders (lines)                               |
 * |----------|----------------|----------------------|----------------------------------------------|
 * | c1       | A sent         | X 03-01              | 03-05 P1 1000 + P3 300 (total 1300)          |
 * | c2       | A sent         | X 03-01              | 04-05 P1 — 35 days later, outside the window |
 * | c3       | A sent         | X 03-01              | 03-10 P2 — not the goal product              |
 * | c4       | B sent         | X 03-01              | 03-02 2×P1 2000, 1 returned 03-20; 03-15 P1  |
 * | c5       | B suppressed   | —                    | 03-03 P1 — never sent, not counted           |
 * | c6       | holdout        | —                    | 03-10 P1                                     |
 * | c7       | holdout        | —                    | 02-20 P1 — before the campaign               |
 * | c8       | B sent         | X 03-01, Y 03-10     | 03-12 P1; 03-20 P3 300                       |
 * | c9       | A sent         | Y 02-25, X 03-01     | 03-03 P1                                     |
 * | c10      | holdout        | Y 03-05              | 03-08 P1                                     |
 * | c11      | A sent         | X 03-01, Z 03-01 12h | 03-06 P3 300; 03-31 09:00 P1 (1 h before X's window closes) |
 */
let database: Database;
const ids: Record<string, number> = {};
const campaigns: Record<'X' | 'Y' | 'Z', number> = { X: 0, Y: 0, Z: 0 };
const at = (text: string) => new Date(`2026-${text}Z`);
const START = '03-01T10:00:00';

beforeAll(async () => {
  database = await openTestDatabase();
  const db = database.db;
  for (const [sku, category, price, cost] of [
    ['P1', 'books', '1000', '600'],
    ['P2', 'books', '800', '500'],
    ['P3', 'stationery', '300', null],
  ] as const) {
    const row = await db
      .insertInto('products')
      .values({ sku, name: sku, category, price, unit_cost: cost })
      .returning('id')
      .executeTakeFirstOrThrow();
    ids[sku] = row.id;
  }
  for (let i = 1; i <= 11; i++) {
    const row = await db
      .insertInto('customers')
      .values({ name: `c${i}` })
      .returning('id')
      .executeTakeFirstOrThrow();
    ids[`c${i}`] = row.id;
  }
  const campaign = async (name: string, goal: Record<string, unknown>, started: string) => {
    const row = await db
      .insertInto('campaigns')
      .values({
        name,
        channel: 'email',
        created_by_name: 'test',
        send_started_at: at(started),
        status: 'sent',
        ...goal,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return row.id;
  };
  campaigns.X = await campaign(
    'X',
    { goal_kind: 'product', goal_product_ids: [ids.P1], goal_window_days: 30 },
    START,
  );
  campaigns.Y = await campaign('Y', { goal_kind: 'any', goal_window_days: 14 }, '02-25T09:00:00');
  campaigns.Z = await campaign(
    'Z',
    { goal_kind: 'category', goal_category: 'stationery', goal_window_days: 30 },
    '03-01T12:00:00',
  );

  const member = async (customer: string, campaign: 'X' | 'Y' | 'Z', arm: string | null, state: string) =>
    db
      .insertInto('campaign_recipients')
      .values({
        customer_id: ids[customer] as number,
        campaign_id: campaigns[campaign],
        variant: arm,
        holdout: arm === null,
        state: state as 'sent',
        reason: state === 'suppressed' ? 'no_consent:email' : null,
      })
      .execute();
  const touch = async (customer: string, campaign: 'X' | 'Y' | 'Z', when: string) =>
    db
      .insertInto('touches')
      .values({
        customer_id: ids[customer] as number,
        channel: 'email',
        campaign: campaign,
        campaign_id: campaigns[campaign],
        variant: 'A',
        cost: '100',
        sent_at: at(when),
      })
      .execute();
  for (const c of ['c1', 'c2', 'c3', 'c9', 'c11']) await member(c, 'X', 'A', 'sent');
  for (const c of ['c4', 'c8']) await member(c, 'X', 'B', 'sent');
  await member('c5', 'X', 'B', 'suppressed');
  for (const c of ['c6', 'c7', 'c10']) await member(c, 'X', null, 'held_out');
  for (const c of ['c1', 'c2', 'c3', 'c4', 'c8', 'c9', 'c11']) await touch(c, 'X', START);
  for (const c of ['c8', 'c9', 'c10']) await member(c, 'Y', 'A', 'sent');
  await touch('c8', 'Y', '03-10T09:00:00');
  await touch('c9', 'Y', '02-25T09:00:00');
  await touch('c10', 'Y', '03-05T09:00:00');
  await member('c11', 'Z', 'A', 'sent');
  await touch('c11', 'Z', '03-01T12:00:00');

  let external = 0;
  const order = async (customer: string, when: string, lines: Array<[string, number, number]>) => {
    const total = lines.reduce((sum, [, quantity, price]) => sum + quantity * price, 0);
    const row = await db
      .insertInto('orders')
      .values({
        customer_id: ids[customer] as number,
        external_id: `O${++external}`,
        ordered_at: at(when),
        total: String(total),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    let lineNo = 0;
    for (const [sku, quantity, price] of lines) {
      await db
        .insertInto('order_lines')
        .values({
          customer_id: ids[customer] as number,
          order_id: row.id,
          line_no: ++lineNo,
          product_id: ids[sku] as number,
          quantity,
          unit_price: String(price),
          amount: String(quantity * price),
        })
        .execute();
    }
    ids[`${customer}@${when}`] = row.id;
    return row.id;
  };
  await order('c1', '03-05T12:00:00', [
    ['P1', 1, 1000],
    ['P3', 1, 300],
  ]);
  await order('c2', '04-05T12:00:00', [['P1', 1, 1000]]);
  await order('c3', '03-10T12:00:00', [['P2', 1, 800]]);
  const c4First = await order('c4', '03-02T12:00:00', [['P1', 2, 1000]]);
  await db
    .insertInto('returns')
    .values({
      customer_id: ids.c4 as number,
      external_id: 'R1',
      order_id: c4First,
      product_id: ids.P1 as number,
      quantity: 1,
      amount: '1000',
      returned_at: at('03-20T12:00:00'),
    })
    .execute();
  await order('c4', '03-15T12:00:00', [['P1', 1, 1000]]);
  await order('c5', '03-03T12:00:00', [['P1', 1, 1000]]);
  await order('c6', '03-10T12:00:00', [['P1', 1, 1000]]);
  await order('c7', '02-20T12:00:00', [['P1', 1, 1000]]);
  await order('c8', '03-12T12:00:00', [['P1', 1, 1000]]);
  await order('c8', '03-20T12:00:00', [['P3', 1, 300]]);
  await order('c9', '03-03T12:00:00', [['P1', 1, 1000]]);
  await order('c10', '03-08T12:00:00', [['P1', 1, 1000]]);
  await order('c11', '03-06T12:00:00', [['P3', 1, 300]]);
  await order('c11', '03-31T09:00:00', [['P1', 1, 1000]]);
});

afterAll(async () => {
  await database?.close();
});

const AS_OF = at('06-01T00:00:00');
const who = (rows: { customerId: number }[]) =>
  [
    ...new Set(rows.map((r) => Object.keys(ids).find((k) => ids[k] === r.customerId && /^c\d+$/.test(k)))),
  ].sort();

describe('attribution of campaign X (goal P1, 30 days)', () => {
  it('last touch: A gets c1, c9, c11; B gets c4 (twice, net of the return); the holdout c6', async () => {
    const rows = await creditedPurchases(database, campaigns.X, { rule: 'last_touch', asOf: AS_OF });
    expect(who(rows.filter((r) => r.variant === 'A'))).toEqual(['c1', 'c11', 'c9']);
    expect(who(rows.filter((r) => r.variant === 'B'))).toEqual(['c4']);
    expect(who(rows.filter((r) => r.variant === null))).toEqual(['c6']);
    // c1's order: only the P1 line (1000) is goal revenue, not the P3 line.
    expect(rows.find((r) => r.customerId === ids.c1)?.revenue).toBe('1000.00');
    // The holdout's window opens at the campaign's start.
    expect(rows.find((r) => r.customerId === ids.c6)?.creditedTouchAt).toEqual(at(START));

    const arms = await attributionByArm(database, campaigns.X, { rule: 'last_touch', asOf: AS_OF });
    expect(arms).toEqual([
      // Holdout: c6 1000 (cost of goods 600).
      {
        variant: null,
        responders: 1,
        purchases: 1,
        revenue: '1000.00',
        revenueSumOfSquares: 1_000_000,
        costOfGoods: '600.00',
        linesWithoutCost: 0,
      },
      // A: c1, c9, c11, 1000 each.
      {
        variant: 'A',
        responders: 3,
        purchases: 3,
        revenue: '3000.00',
        revenueSumOfSquares: 3_000_000,
        costOfGoods: '1800.00',
        linesWithoutCost: 0,
      },
      // B: c4 — 2000 − 1000 returned + 1000 = 2000; goods 1200 − 600 + 600 = 1200. c8 went to Y (later touch).
      {
        variant: 'B',
        responders: 1,
        purchases: 2,
        revenue: '2000.00',
        revenueSumOfSquares: 4_000_000,
        costOfGoods: '1200.00',
        linesWithoutCost: 0,
      },
    ]);
  });

  it('first touch: c9 goes to Y (touched earlier), c8 stays with X, c10 counts for the holdout', async () => {
    const rows = await creditedPurchases(database, campaigns.X, { rule: 'first_touch', asOf: AS_OF });
    expect(who(rows.filter((r) => r.variant === 'A'))).toEqual(['c1', 'c11']);
    expect(who(rows.filter((r) => r.variant === 'B'))).toEqual(['c4', 'c8']);
    expect(who(rows.filter((r) => r.variant === null))).toEqual(['c10', 'c6']);
    const arms = await attributionByArm(database, campaigns.X, { rule: 'first_touch', asOf: AS_OF });
    expect(arms.map((a) => [a.variant, a.responders, a.revenue])).toEqual([
      [null, 2, '2000.00'],
      ['A', 2, '2000.00'],
      ['B', 2, '3000.00'],
    ]);
  });

  it('as of 03-10 00:00: later orders and the return do not count yet', async () => {
    const rows = await creditedPurchases(database, campaigns.X, { asOf: at('03-10T00:00:00') });
    // c4: only the 03-02 order, both units (the return is on 03-20); c11's 03-31 order is in the future.
    expect(who(rows)).toEqual(['c1', 'c4', 'c9']);
    expect(rows.find((r) => r.customerId === ids.c4)?.revenue).toBe('2000.00');
  });
});

describe('attribution of the competing campaigns', () => {
  it('Y (any purchase, 14 days, last touch): c8 both orders (1000 + 300), c10 (1000); c9 lost to X', async () => {
    const rows = await creditedPurchases(database, campaigns.Y, { asOf: AS_OF });
    expect(rows.map((r) => [Object.keys(ids).find((k) => ids[k] === r.customerId), r.revenue])).toEqual([
      ['c8', '1000.00'],
      ['c8', '300.00'],
      ['c10', '1000.00'],
    ]);
  });

  it('Z (category stationery): c11’s P3 order, whose goods cost is unknown', async () => {
    const arms = await attributionByArm(database, campaigns.Z, { asOf: AS_OF });
    expect(arms).toEqual([
      {
        variant: 'A',
        responders: 1,
        purchases: 1,
        revenue: '300.00',
        revenueSumOfSquares: 90_000,
        costOfGoods: '0.00',
        linesWithoutCost: 1,
      },
    ]);
  });

  it('a campaign nobody was sent yet credits nothing', async () => {
    const row = await database.db
      .insertInto('campaigns')
      .values({ name: 'draft', channel: 'email', created_by_name: 'test' })
      .returning('id')
      .executeTakeFirstOrThrow();
    await sql`insert into campaign_recipients (customer_id, campaign_id, variant, holdout, state)
      values (${ids.c6}, ${row.id}, null, true, 'held_out')`.execute(database.db);
    expect(await attributionByArm(database, row.id, { asOf: AS_OF })).toEqual([]);
  });
});
