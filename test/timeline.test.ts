import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { customerTimeline, findCustomer, formatTimeline, type Timeline } from '../src/customers/index.ts';
import { displayWidth, formatMoney } from '../src/customers/timeline-table.ts';
import type { Database } from '../src/db/index.ts';
import { KizunaError } from '../src/errors.ts';
import { openTestDatabase } from './helpers/database.ts';

// Ids are given explicitly so that the expected order can be written down by hand.
const A = 1; // 山田 花子: the customer under test
const B = 2; // another customer whose events interleave in time with A's
const C = 3; // a duplicate of A, merged into A, with A's e-mail and a more recent update
const D = 4; // shares B's e-mail (other case) and was updated after B; its external id is "1"

async function insertFixture(database: Database): Promise<void> {
  const db = database.db;
  await db
    .insertInto('stores')
    .values([
      { id: 1, code: 'S01', name: '渋谷店' },
      { id: 2, code: 'S02', name: '梅田店' },
    ])
    .execute();
  await db
    .insertInto('staff')
    .values([
      { id: 1, code: 'ST01', name: '鈴木', role: 'store_staff', store_id: 1 },
      { id: 2, code: 'ST02', name: '佐藤', role: 'service_agent', store_id: 2 },
    ])
    .execute();
  await db
    .insertInto('products')
    .values([
      {
        id: 1,
        sku: 'LENS2W',
        name: 'Contact lenses 2-week',
        category: 'lenses',
        price: '3000.00',
        unit_cost: '1200.00',
      },
      { id: 2, sku: 'SOL', name: 'Lens solution', category: 'care', price: '1150.50' },
    ])
    .execute();
  await db
    .insertInto('customers')
    .values([
      {
        id: A,
        external_id: 'C0001',
        name: '山田 花子',
        name_kana: 'ヤマダ ハナコ',
        email: 'Hanako@Example.jp',
        phone: '090-1234-5678',
        postal_code: '150-0001',
        address: '東京都渋谷区神宮前1-1-1',
        tags: ['vip', 'lenses'],
        custom_fields: JSON.stringify({ shoe_size: '23.5' }),
        acquisition_source: 'walk-in',
        home_store_id: 1,
        account_owner_staff_id: 1,
        updated_at: '2024-01-01T00:00:00Z',
      },
      {
        id: B,
        external_id: '0001234',
        name: '田中 一郎',
        email: 'ichiro@example.jp',
        home_store_id: 2,
        updated_at: '2024-01-01T00:00:00Z',
      },
      {
        id: D,
        external_id: String(A),
        name: '田中 一郎',
        email: 'ICHIRO@example.jp',
        updated_at: '2024-02-01T00:00:00Z',
      },
    ])
    .execute();
  await db
    .insertInto('customers')
    .values({
      id: C,
      external_id: 'C0003',
      name: '山田 花子',
      email: 'hanako@example.jp',
      merged_into_customer_id: A,
      updated_at: '2024-06-01T00:00:00Z',
    })
    .execute();

  await db
    .insertInto('consents')
    .values([
      {
        customer_id: A,
        id: 1,
        channel: 'email',
        granted: true,
        recorded_at: '2024-01-10T00:00:00Z',
        source: 'web form',
      },
      {
        customer_id: A,
        id: 2,
        channel: 'email',
        granted: false,
        recorded_at: '2024-03-01T00:00:00Z',
        source: 'unsubscribe link',
      },
      {
        customer_id: A,
        id: 3,
        channel: 'sms',
        granted: true,
        recorded_at: '2024-02-01T00:00:00Z',
        source: 'store',
      },
      // Recorded late but dated early (a back-filled paper form): not the one in force.
      {
        customer_id: A,
        id: 4,
        channel: 'email',
        granted: true,
        recorded_at: '2023-12-01T00:00:00Z',
        source: 'paper form',
      },
      {
        customer_id: B,
        id: 5,
        channel: 'letter',
        granted: true,
        recorded_at: '2024-05-01T00:00:00Z',
        source: 'store',
      },
    ])
    .execute();

  await db
    .insertInto('orders')
    .values([
      {
        customer_id: A,
        id: 101,
        external_id: 'O0001',
        store_id: 1,
        ordered_at: '2024-04-01T09:00:00Z',
        total: '7150.50',
      },
      {
        customer_id: A,
        id: 102,
        external_id: 'O0002',
        store_id: 2,
        ordered_at: '2024-05-03T09:30:00Z',
        total: '0.00',
      },
      {
        customer_id: A,
        id: 103,
        external_id: 'O0003',
        store_id: 1,
        ordered_at: '2024-04-10T12:00:00Z',
        total: '5301.00',
      },
      {
        customer_id: B,
        id: 151,
        external_id: 'O0100',
        store_id: 2,
        ordered_at: '2024-04-02T00:00:00Z',
        total: '3000.00',
      },
    ])
    .execute();
  await db
    .insertInto('order_lines')
    .values([
      {
        customer_id: A,
        order_id: 101,
        line_no: 1,
        product_id: 1,
        quantity: 2,
        unit_price: '3000.00',
        amount: '6000.00',
      },
      {
        customer_id: A,
        order_id: 101,
        line_no: 2,
        product_id: 2,
        quantity: 1,
        unit_price: '1150.50',
        amount: '1150.50',
      },
      {
        customer_id: A,
        order_id: 103,
        line_no: 2,
        product_id: 2,
        quantity: 2,
        unit_price: '1150.50',
        amount: '2301.00',
      },
      {
        customer_id: A,
        order_id: 103,
        line_no: 1,
        product_id: 1,
        quantity: 1,
        unit_price: '3000.00',
        amount: '3000.00',
      },
      {
        customer_id: B,
        order_id: 151,
        line_no: 1,
        product_id: 1,
        quantity: 1,
        unit_price: '3000.00',
        amount: '3000.00',
      },
    ])
    .execute();
  await db
    .insertInto('returns')
    .values([
      {
        customer_id: A,
        id: 401,
        external_id: 'R0001',
        order_id: 101,
        product_id: 1,
        quantity: 1,
        amount: '3000.00',
        returned_at: '2024-04-10T12:00:00Z',
        reason: 'wrong power',
      },
      {
        customer_id: B,
        id: 451,
        external_id: 'R0100',
        order_id: 151,
        product_id: 1,
        quantity: 1,
        amount: '3000.00',
        returned_at: '2024-04-03T00:00:00Z',
        reason: null,
      },
    ])
    .execute();
  await db
    .insertInto('touches')
    .values([
      {
        customer_id: A,
        id: 201,
        channel: 'email',
        campaign: 'Spring sale',
        variant: 'B',
        subject: 'Spring sale: 20% off',
        cost: '0.00',
        sent_at: '2024-04-05T10:00:00Z',
        delivered_at: '2024-04-05T10:01:00Z',
        opened_at: '2024-04-06T07:00:00Z',
      },
      {
        customer_id: A,
        id: 202,
        channel: 'letter',
        campaign: 'Thank-you letter',
        cost: '120.10',
        sent_at: '2024-04-15T00:00:00Z',
        bounced_at: '2024-04-20T00:00:00Z',
      },
      {
        customer_id: B,
        id: 251,
        channel: 'email',
        campaign: 'Spring sale',
        cost: '0.00',
        sent_at: '2024-04-05T10:00:00Z',
      },
    ])
    .execute();
  await db
    .insertInto('interactions')
    .values([
      {
        customer_id: A,
        id: 301,
        kind: 'inquiry',
        channel: 'phone',
        status: 'closed',
        subject: 'Lens power question',
        owner_staff_id: 2,
        duration_seconds: 300,
        opened_at: '2024-04-05T10:00:00Z',
      },
      {
        customer_id: A,
        id: 302,
        kind: 'complaint',
        channel: 'store',
        status: 'resolved',
        subject: '靴がきしむ',
        body: '右の靴が歩くたびにきしむ',
        store_id: 2,
        owner_staff_id: 2,
        opened_at: '2024-04-20T03:00:00Z',
        first_response_at: '2024-04-20T03:30:00Z',
        resolved_at: '2024-04-22T00:00:00Z',
      },
      { customer_id: B, id: 351, kind: 'call', channel: 'phone', opened_at: '2024-04-20T03:00:00Z' },
    ])
    .execute();
  await db
    .insertInto('preferences')
    .values([
      {
        customer_id: A,
        id: 501,
        key: 'wine',
        value: 'with ice',
        store_id: 2,
        author_staff_id: 2,
        noted_at: '2024-05-01T08:00:00Z',
      },
      {
        customer_id: A,
        id: 502,
        note: 'likes author X',
        source: 'customer',
        noted_at: '2024-05-01T08:00:00Z',
        obsolete_at: '2024-05-10T00:00:00Z',
      },
      { customer_id: B, id: 551, key: 'size', value: '26.5', noted_at: '2024-05-02T00:00:00Z' },
    ])
    .execute();
}

const EXPECTED_A = [
  'order:102',
  'preference:502', // same time as 501, same kind: the newer id first
  'preference:501',
  'interaction:302',
  'touch:202',
  'order:103', // same time as return 401: orders before returns
  'return:401',
  'touch:201', // same time as interaction 301: touches before interactions
  'interaction:301',
  'order:101',
];

const keys = (timeline: Timeline): string[] => timeline.events.map((e) => `${e.kind}:${e.id}`);

// One database for the file: every test below only reads the fixture.
let database: Database;

beforeAll(async () => {
  database = await openTestDatabase();
  await insertFixture(database);
});

afterAll(async () => {
  await database?.close();
});

describe('customer timeline', () => {
  it('merges all kinds into one list, newest first, ties broken by kind then id', async () => {
    const timeline = await customerTimeline(database, A);
    expect(keys(timeline)).toEqual(EXPECTED_A);
    expect(timeline.has_more).toBe(false);
    expect(timeline.events.map((e) => e.at)).toEqual([
      '2024-05-03T09:30:00.000Z',
      '2024-05-01T08:00:00.000Z',
      '2024-05-01T08:00:00.000Z',
      '2024-04-20T03:00:00.000Z',
      '2024-04-15T00:00:00.000Z',
      '2024-04-10T12:00:00.000Z',
      '2024-04-10T12:00:00.000Z',
      '2024-04-05T10:00:00.000Z',
      '2024-04-05T10:00:00.000Z',
      '2024-04-01T09:00:00.000Z',
    ]);
  });

  it("never shows another customer's events", async () => {
    const a = await customerTimeline(database, A);
    const b = await customerTimeline(database, B);
    expect(keys(b)).toEqual(['preference:551', 'interaction:351', 'touch:251', 'return:451', 'order:151']);
    const bKeys = new Set(keys(b));
    expect(keys(a).filter((k) => bKeys.has(k))).toEqual([]);
    expect(b.customer.consents.map((c) => c.channel)).toEqual(['letter']);
  });

  it('shows the identity, the latest consent per channel, home store and account owner', async () => {
    const { customer } = await customerTimeline(database, A);
    expect(customer).toMatchObject({
      id: A,
      external_id: 'C0001',
      name: '山田 花子',
      name_kana: 'ヤマダ ハナコ',
      email: 'Hanako@Example.jp',
      tags: ['vip', 'lenses'],
      custom_fields: { shoe_size: '23.5' },
      home_store: { id: 1, code: 'S01', name: '渋谷店' },
      account_owner: { id: 1, name: '鈴木' },
      do_not_contact: false,
      merged_into_customer_id: null,
    });
    expect(customer.consents).toEqual([
      {
        channel: 'email',
        granted: false,
        recorded_at: '2024-03-01T00:00:00.000Z',
        source: 'unsubscribe link',
      },
      { channel: 'sms', granted: true, recorded_at: '2024-02-01T00:00:00.000Z', source: 'store' },
    ]);
  });

  it('gives each event its details, money as exact decimal strings', async () => {
    const { events } = await customerTimeline(database, A);
    const byKey = new Map(events.map((e) => [`${e.kind}:${e.id}`, e]));
    expect(byKey.get('order:101')).toEqual({
      kind: 'order',
      at: '2024-04-01T09:00:00.000Z',
      id: 101,
      external_id: 'O0001',
      store: { id: 1, code: 'S01', name: '渋谷店' },
      currency: 'JPY',
      total: '7150.50',
      lines: [
        {
          line_no: 1,
          sku: 'LENS2W',
          product_name: 'Contact lenses 2-week',
          category: 'lenses',
          quantity: 2,
          unit_price: '3000.00',
          amount: '6000.00',
        },
        {
          line_no: 2,
          sku: 'SOL',
          product_name: 'Lens solution',
          category: 'care',
          quantity: 1,
          unit_price: '1150.50',
          amount: '1150.50',
        },
      ],
    });
    // Lines come in line order whatever the insertion order.
    const order103 = byKey.get('order:103');
    expect(order103?.kind === 'order' && order103.lines.map((l) => l.sku)).toEqual(['LENS2W', 'SOL']);
    expect(byKey.get('order:102')).toMatchObject({ total: '0.00', lines: [] });
    expect(byKey.get('return:401')).toEqual({
      kind: 'return',
      at: '2024-04-10T12:00:00.000Z',
      id: 401,
      external_id: 'R0001',
      order_id: 101,
      order_external_id: 'O0001',
      store: { id: 1, code: 'S01', name: '渋谷店' },
      currency: 'JPY',
      sku: 'LENS2W',
      product_name: 'Contact lenses 2-week',
      category: 'lenses',
      quantity: 1,
      amount: '3000.00',
      reason: 'wrong power',
    });
    expect(byKey.get('touch:201')).toEqual({
      kind: 'touch',
      at: '2024-04-05T10:00:00.000Z',
      id: 201,
      external_id: null,
      channel: 'email',
      campaign: 'Spring sale',
      flow: null,
      variant: 'B',
      subject: 'Spring sale: 20% off',
      cost: '0.00',
      delivered_at: '2024-04-05T10:01:00.000Z',
      opened_at: '2024-04-06T07:00:00.000Z',
      clicked_at: null,
      bounced_at: null,
    });
    expect(byKey.get('touch:202')).toMatchObject({ cost: '120.10', bounced_at: '2024-04-20T00:00:00.000Z' });
    expect(byKey.get('interaction:302')).toEqual({
      kind: 'interaction',
      at: '2024-04-20T03:00:00.000Z',
      id: 302,
      external_id: null,
      interaction_kind: 'complaint',
      channel: 'store',
      status: 'resolved',
      subject: '靴がきしむ',
      body: '右の靴が歩くたびにきしむ',
      store: { id: 2, code: 'S02', name: '梅田店' },
      owner: { id: 2, name: '佐藤' },
      duration_seconds: null,
      opened_at: '2024-04-20T03:00:00.000Z',
      first_response_at: '2024-04-20T03:30:00.000Z',
      resolved_at: '2024-04-22T00:00:00.000Z',
    });
    expect(byKey.get('preference:501')).toEqual({
      kind: 'preference',
      at: '2024-05-01T08:00:00.000Z',
      id: 501,
      external_id: null,
      key: 'wine',
      value: 'with ice',
      note: null,
      source: 'staff',
      store: { id: 2, code: 'S02', name: '梅田店' },
      author: { id: 2, name: '佐藤' },
      obsolete: false,
      obsolete_at: null,
    });
    expect(byKey.get('preference:502')).toMatchObject({
      note: 'likes author X',
      source: 'customer',
      store: null,
      author: null,
      obsolete: true,
      obsolete_at: '2024-05-10T00:00:00.000Z',
    });
  });

  it('limits, pages with before, and filters by kind', async () => {
    const first = await customerTimeline(database, A, { limit: 3 });
    expect(keys(first)).toEqual(EXPECTED_A.slice(0, 3));
    expect(first.has_more).toBe(true);
    const exact = await customerTimeline(database, A, { limit: EXPECTED_A.length });
    expect(exact.has_more).toBe(false);

    const before = await customerTimeline(database, A, { before: new Date('2024-04-10T12:00:00Z') });
    expect(keys(before)).toEqual(['touch:201', 'interaction:301', 'order:101']);

    const some = await customerTimeline(database, A, { kinds: ['touch', 'preference'] });
    expect(keys(some)).toEqual(['preference:502', 'preference:501', 'touch:202', 'touch:201']);

    const page = await customerTimeline(database, A, {
      kinds: ['order'],
      limit: 1,
      before: new Date('2024-05-01T00:00:00Z'),
    });
    expect(keys(page)).toEqual(['order:103']);
    expect(page.has_more).toBe(true);
  });

  it('refuses an unknown customer and a bad limit', async () => {
    await expect(customerTimeline(database, 999)).rejects.toMatchObject({
      code: 'customer_not_found',
      status: 404,
    });
    await expect(customerTimeline(database, A, { limit: 0 })).rejects.toBeInstanceOf(KizunaError);
  });

  it('formats the timeline as a plain-text table', async () => {
    const text = formatTimeline(await customerTimeline(database, A));
    const lines = text.split('\n');
    expect(lines[0]).toBe('山田 花子 (ヤマダ ハナコ)  #1 ext C0001');
    expect(text).toContain('  email     Hanako@Example.jp');
    expect(text).toContain('  address   〒150-0001 東京都渋谷区神宮前1-1-1');
    expect(text).toContain(
      '  consents  email no (2024-03-01, unsubscribe link) · sms yes (2024-02-01, store)',
    );
    expect(text).toContain('  store     S01 渋谷店 · owner 鈴木');
    expect(lines).toContain('2024-05-03 09:30  order        O0002 @S02 ¥0: no lines');
    expect(lines).toContain(
      '2024-04-01 09:00  order        O0001 @S01 ¥7,150.50: 2× Contact lenses 2-week, 1× Lens solution',
    );
    expect(lines).toContain(
      '2024-04-10 12:00  return       O0001 @S01 ¥3,000: 1× Contact lenses 2-week — wrong power',
    );
    expect(lines).toContain("2024-04-05 10:00  touch        email 'Spring sale' variant B opened");
    expect(lines).toContain("2024-04-15 00:00  touch        letter 'Thank-you letter' bounced (cost 120.10)");
    expect(lines).toContain(
      '2024-04-20 03:00  interaction  complaint (resolved) 靴がきしむ — store, 佐藤, S02',
    );
    expect(lines).toContain(
      '2024-04-05 10:00  interaction  inquiry (closed) Lens power question — phone, 佐藤, 5 min',
    );
    expect(lines).toContain('2024-05-01 08:00  preference   note wine = with ice — by 佐藤 at S02');
    expect(lines).toContain('2024-05-01 08:00  preference   note “likes author X” — customer, obsolete');
  });
});

describe('findCustomer', () => {
  it('resolves an id, an external id and an e-mail', async () => {
    expect(await findCustomer(database, String(A))).toBe(A);
    expect(await findCustomer(database, ` ${B} `)).toBe(B);
    expect(await findCustomer(database, 'C0001')).toBe(A);
    // Leading zeros: a member number, not id 1234.
    expect(await findCustomer(database, '0001234')).toBe(B);
    // "1" is A's id and D's external id: the id wins.
    expect(await findCustomer(database, '1')).toBe(A);
  });

  it('matches e-mail case-insensitively, most recently updated first', async () => {
    expect(await findCustomer(database, 'Ichiro@Example.JP')).toBe(D);
  });

  it('resolves a merged-away customer to the survivor', async () => {
    expect(await findCustomer(database, String(C))).toBe(A);
    expect(await findCustomer(database, 'C0003')).toBe(A);
    // C (merged into A) has the same e-mail and the newer update: still A.
    expect(await findCustomer(database, 'HANAKO@example.jp')).toBe(A);
  });

  it('returns null when nothing matches', async () => {
    expect(await findCustomer(database, '999')).toBeNull();
    expect(await findCustomer(database, 'nobody@example.jp')).toBeNull();
    expect(await findCustomer(database, '')).toBeNull();
    expect(await findCustomer(database, '99999999999999999999')).toBeNull();
  });
});

describe('timeline table helpers', () => {
  it('formats money without floats', () => {
    expect(formatMoney('12300.00')).toBe('¥12,300');
    expect(formatMoney('7150.50', 'JPY')).toBe('¥7,150.50');
    expect(formatMoney('-3000.00')).toBe('-¥3,000');
    expect(formatMoney('1234567890123.45', 'USD')).toBe('USD 1,234,567,890,123.45');
  });

  it('counts Japanese characters as two columns', () => {
    expect(displayWidth('abc')).toBe(3);
    expect(displayWidth('靴がきしむ')).toBe(10);
    expect(displayWidth('ﾔﾏﾀﾞ')).toBe(4); // half-width katakana stays narrow
  });
});
