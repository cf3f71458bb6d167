import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refreshMeasures } from '../src/analytics/measures/index.ts';
import { buildServer } from '../src/api/index.ts';
import { CLI_ACTOR } from '../src/auth/index.ts';
import { findDuplicateCandidates, mergeCustomers, previewMerge } from '../src/customers/index.ts';
import type { Database } from '../src/db/index.ts';
import { tokenHeaders } from './helpers/api.ts';
import { openTestDatabase } from './helpers/database.ts';

let database: Database;
let app: FastifyInstance;
let owner: Record<string, string>;

const STORE_A = 1;
const STORE_B = 2;
const SURVIVOR = 10;
const MERGED = 20;
const REFERRED = 30;
const OLD_STUB = 40;
const ERASED = 50;
const OTHER_B = 60;

/** Rows per customer in every table a merge must move, and the order totals. */
async function holdings(customerId: number) {
  const count = async (
    table: 'orders' | 'order_lines' | 'returns' | 'touches' | 'interactions' | 'preferences' | 'consents',
  ) =>
    Number(
      (
        await database.db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('customer_id', '=', customerId)
          .executeTakeFirstOrThrow()
      ).n,
    );
  const totals = await sql<{ total: string }>`
    select coalesce(sum(total), 0)::text as total from orders where customer_id = ${customerId}`.execute(
    database.db,
  );
  return {
    orders: await count('orders'),
    order_lines: await count('order_lines'),
    returns: await count('returns'),
    touches: await count('touches'),
    interactions: await count('interactions'),
    preferences: await count('preferences'),
    consents: await count('consents'),
    total: Number(totals.rows[0]!.total),
  };
}

async function seedHistory(customerId: number, storeId: number, orders: number, tag: string) {
  const db = database.db;
  for (let i = 1; i <= orders; i++) {
    const { id } = await db
      .insertInto('orders')
      .values({
        customer_id: customerId,
        external_id: `${tag}-O${i}`,
        store_id: storeId,
        ordered_at: `2024-0${i}-10T10:00:00Z`,
        total: `${i * 1000}.50`,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await db
      .insertInto('order_lines')
      .values([
        {
          customer_id: customerId,
          order_id: id,
          line_no: 1,
          product_id: 1,
          quantity: 1,
          unit_price: '500.25',
          amount: '500.25',
        },
        {
          customer_id: customerId,
          order_id: id,
          line_no: 2,
          product_id: 1,
          quantity: 1,
          unit_price: `${i * 1000 - 499.75}`,
          amount: `${i * 1000 - 499.75}`,
        },
      ])
      .execute();
    if (i === 1) {
      await db
        .insertInto('returns')
        .values({
          customer_id: customerId,
          external_id: `${tag}-R1`,
          order_id: id,
          product_id: 1,
          quantity: 1,
          amount: '500.25',
          returned_at: '2024-01-20T00:00:00Z',
        })
        .execute();
    }
  }
  // A return without an order (the receipt was lost): it has no order to follow and must move by itself.
  await db
    .insertInto('returns')
    .values({
      customer_id: customerId,
      external_id: `${tag}-R0`,
      product_id: 1,
      quantity: 1,
      amount: '100.00',
      returned_at: '2024-02-01T00:00:00Z',
    })
    .execute();
  await db
    .insertInto('touches')
    .values([
      { customer_id: customerId, channel: 'email', campaign: 'spring', sent_at: '2024-03-01T00:00:00Z' },
      { customer_id: customerId, channel: 'dm', campaign: 'summer', sent_at: '2024-06-01T00:00:00Z' },
    ])
    .execute();
  await db
    .insertInto('interactions')
    .values({
      customer_id: customerId,
      kind: 'inquiry',
      channel: 'store',
      store_id: storeId,
      opened_at: '2024-04-01T00:00:00Z',
    })
    .execute();
  await db
    .insertInto('preferences')
    .values({ customer_id: customerId, key: 'drink', value: `${tag} wine`, store_id: storeId })
    .execute();
  await db
    .insertInto('consents')
    .values({
      customer_id: customerId,
      channel: 'email',
      granted: true,
      source: 'import',
      recorded_at: '2024-01-01T00:00:00Z',
    })
    .execute();
}

beforeAll(async () => {
  database = await openTestDatabase();
  const db = database.db;
  await db
    .insertInto('stores')
    .values([
      { id: STORE_A, code: 'A', name: '渋谷店' },
      { id: STORE_B, code: 'B', name: '梅田店' },
    ])
    .execute();
  await db.insertInto('staff').values({ id: 7, code: 'ST7', name: '佐藤', role: 'manager' }).execute();
  await db
    .insertInto('products')
    .values({ id: 1, sku: 'P1', name: 'Lens', category: 'lenses', price: '1000.00' })
    .execute();
  await db
    .insertInto('customers')
    .values([
      {
        id: SURVIVOR,
        external_id: 'WEB-10',
        name: '山田 花子',
        name_kana: 'ヤマダ ハナコ',
        email: 'hanako@example.jp',
        tags: ['vip', 'wine'],
        custom_fields: JSON.stringify({ size: 'M', shoe: 23 }),
        home_store_id: STORE_A,
        created_at: '2023-05-01T00:00:00Z',
      },
      {
        id: MERGED,
        external_id: 'POS-20',
        name: '山田花子',
        name_kana: 'ヤマダハナコ',
        email: 'HANAKO@example.jp',
        phone: '090-1234-5678',
        address: '大阪市北区',
        birth_date: '1985-04-01',
        tags: ['wine', 'sake'],
        custom_fields: JSON.stringify({ size: 'L', club: true }),
        acquisition_source: 'store',
        account_owner_staff_id: 7,
        home_store_id: STORE_B,
        do_not_contact: true,
        created_at: '2022-01-01T00:00:00Z',
      },
      { id: ERASED, erased_at: new Date() },
      { id: OTHER_B, name: '梅田 のみ', phone: '06-0000-0000', home_store_id: STORE_B },
    ])
    .execute();
  await db
    .insertInto('customers')
    .values([
      { id: REFERRED, name: '紹介 された', referred_by_customer_id: MERGED, home_store_id: STORE_B },
      { id: OLD_STUB, external_id: 'OLD-40', merged_into_customer_id: MERGED },
    ])
    .execute();
  await seedHistory(SURVIVOR, STORE_A, 2, 'S');
  await seedHistory(MERGED, STORE_B, 3, 'M');
  await db
    .insertInto('consents')
    .values({
      customer_id: MERGED,
      channel: 'sms',
      granted: false,
      source: 'web form',
      recorded_at: '2024-05-01T00:00:00Z',
    })
    .execute();
  // Derived analytics rows, which the merge deletes for the merged customer.
  for (const customerId of [SURVIVOR, MERGED]) {
    await db
      .insertInto('customer_measures')
      .values({
        customer_id: customerId,
        as_of: '2024-12-31',
        orders_count: 1,
        purchase_days: 1,
        total_spend: 1,
        gross_margin: 1,
        returns_amount: 0,
      })
      .execute();
    await db
      .insertInto('tier_snapshots')
      .values({
        period_end: '2024-06-30',
        customer_id: customerId,
        tier: 'regular',
        total_spend: 1,
        orders_count: 1,
        tenure_days: 10,
      })
      .execute();
  }
  const model = await db
    .insertInto('clv_models')
    .values({
      purchase_model: 'bgnbd',
      time_unit: 'weeks',
      calibration_end: '2024-12-31',
      customers: 2,
      purchase_params: '{}',
      purchase_report: '{}',
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  await db
    .insertInto('customer_clv')
    .values({
      customer_id: MERGED,
      model_id: model.id,
      frequency: 2,
      recency: 10,
      age: 20,
      probability_alive: 0.9,
      expected_purchases_next_year: 1.5,
    })
    .execute();
  app = buildServer(database);
  owner = await tokenHeaders(database, 'owner');
});

afterAll(async () => {
  await app?.close();
  await database?.close();
});

describe('duplicates', () => {
  it('pairs customers sharing an e-mail (any case), phone digits, or name and kana', async () => {
    const response = await app.inject({ method: 'GET', url: '/api/customers/duplicates', headers: owner });
    expect(response.statusCode).toBe(200);
    const { candidates } = response.json();
    expect(candidates).toHaveLength(1);
    expect(candidates[0].customers.map((c: { id: number }) => c.id)).toEqual([SURVIVOR, MERGED]);
    expect(candidates[0].reasons).toEqual(['email', 'name']);
  });

  it("lists only pairs inside the caller's stores", async () => {
    expect(await findDuplicateCandidates(database, { ...CLI_ACTOR, storeIds: [STORE_A] })).toEqual([]);
    expect(await findDuplicateCandidates(database, CLI_ACTOR)).toHaveLength(1);
  });
});

describe('merge', () => {
  it('refuses roles without customers:merge and customers outside the caller stores', async () => {
    const marketer = await tokenHeaders(database, 'marketer');
    const denied = await app.inject({
      method: 'POST',
      url: `/api/customers/${SURVIVOR}/merge`,
      headers: marketer,
      payload: { other: MERGED },
    });
    expect(denied.statusCode).toBe(403);
    expect(denied.json().error.code).toBe('forbidden');
    const storeStaff = await tokenHeaders(database, 'store_staff');
    const preview = await app.inject({
      method: 'GET',
      url: `/api/customers/${SURVIVOR}/merge-preview?other=${MERGED}`,
      headers: storeStaff,
    });
    expect(preview.statusCode).toBe(403);
    // A manager of store A may not pull store B's customer into a store-A customer.
    const managerA = await tokenHeaders(database, 'manager', { storeIds: [STORE_A] });
    const outOfScope = await app.inject({
      method: 'POST',
      url: `/api/customers/${SURVIVOR}/merge`,
      headers: managerA,
      payload: { other: OTHER_B },
    });
    expect(outOfScope.statusCode).toBe(403);
    expect(outOfScope.json().error.code).toBe('customer_out_of_scope');
    expect((await holdings(SURVIVOR)).orders).toBe(2);
  });

  it('refuses merging a customer into itself, or an erased one (409 with the reasons)', async () => {
    const self = await app.inject({
      method: 'POST',
      url: `/api/customers/${SURVIVOR}/merge`,
      headers: owner,
      payload: { other: String(SURVIVOR) },
    });
    expect(self.statusCode).toBe(409);
    expect(self.json().error).toMatchObject({ code: 'merge_refused' });
    expect(self.json().error.message).toContain('itself');
    const erased = await app.inject({
      method: 'GET',
      url: `/api/customers/${SURVIVOR}/merge-preview?other=${ERASED}`,
      headers: owner,
    });
    expect(erased.statusCode).toBe(409);
    expect(erased.json().error.message).toContain(`${ERASED} has been erased`);
    await expect(mergeCustomers(database, ERASED, SURVIVOR)).rejects.toMatchObject({ status: 409 });
  });

  it('moves everything to the survivor, as previewed, and leaves a stub that redirects', async () => {
    // Both records got the same campaign and entered the same flow: those records of the past stay as
    // they were (one recipient row per campaign and customer, one enrollment per flow and occurrence).
    const campaign = await database.db
      .insertInto('campaigns')
      .values({ name: 'both got it', channel: 'email', created_by_name: 'test' })
      .returning('id')
      .executeTakeFirstOrThrow();
    await database.db
      .insertInto('campaign_recipients')
      .values(
        [SURVIVOR, MERGED].map((id) => ({
          campaign_id: campaign.id,
          customer_id: id,
          variant: 'A',
          holdout: false,
        })),
      )
      .execute();
    const flow = (
      await sql<{ id: number }>`insert into flows (name) values ('welcome both') returning id`.execute(
        database.db,
      )
    ).rows[0]!;
    await sql`insert into flow_versions (flow_id, version, definition, created_by_name) values (${flow.id}, 1, '{}', 'test')`.execute(
      database.db,
    );
    await sql`insert into flow_enrollments (customer_id, flow_id, version, occurrence, entered_at)
      values (${SURVIVOR}, ${flow.id}, 1, 'first_purchase', now()), (${MERGED}, ${flow.id}, 1, 'first_purchase', now())`.execute(
      database.db,
    );
    const survivorBefore = await holdings(SURVIVOR);
    const mergedBefore = await holdings(MERGED);
    const grandTotal = await sql<{ t: string }>`select sum(total)::text as t from orders`.execute(
      database.db,
    );

    const previewResponse = await app.inject({
      method: 'GET',
      url: `/api/customers/${SURVIVOR}/merge-preview?other=POS-20`,
      headers: owner,
    });
    expect(previewResponse.statusCode).toBe(200);
    const preview = previewResponse.json();
    expect(preview.moves).toEqual({
      orders: 3,
      order_lines: 6,
      returns: 2,
      touches: 2,
      interactions: 1,
      preferences: 1,
      consents: 2,
      flow_events: 0,
      referrals: 1,
      merged_redirects: 1,
    });
    expect(preview.recomputed).toEqual({ customer_measures: 1, customer_clv: 1, tier_snapshots: 1 });
    const outcome = Object.fromEntries(
      preview.fields.map((f: { field: string; outcome: string }) => [f.field, f.outcome]),
    );
    expect(outcome).toMatchObject({
      external_id: 'survivor_wins',
      name: 'survivor_wins',
      email: 'survivor_wins',
      phone: 'gained',
      address: 'gained',
      birth_date: 'gained',
      postal_code: 'same',
      home_store_id: 'survivor_wins',
      account_owner_staff_id: 'gained',
      tags: 'combined',
    });

    const response = await app.inject({
      method: 'POST',
      url: `/api/customers/${SURVIVOR}/merge`,
      headers: owner,
      payload: { other: 'POS-20' },
    });
    expect(response.statusCode, response.body).toBe(200);
    const done = response.json();
    expect({ moves: done.moves, recomputed: done.recomputed, fields: done.fields }).toEqual({
      moves: preview.moves,
      recomputed: preview.recomputed,
      fields: preview.fields,
    });

    // Nothing lost: the survivor holds the sum of both, the merged customer nothing.
    const survivorAfter = await holdings(SURVIVOR);
    for (const key of Object.keys(survivorBefore) as (keyof typeof survivorBefore)[]) {
      expect(survivorAfter[key], key).toBeCloseTo(survivorBefore[key] + mergedBefore[key], 2);
    }
    expect(Object.values(await holdings(MERGED)).every((n) => n === 0)).toBe(true);
    const grandTotalAfter = await sql<{ t: string }>`select sum(total)::text as t from orders`.execute(
      database.db,
    );
    expect(grandTotalAfter.rows[0]!.t).toBe(grandTotal.rows[0]!.t);
    // Every line still belongs to its order, every order's lines still add up to its total.
    const mismatched = await sql<{ id: number }>`
      select o.id from orders o left join order_lines l on l.customer_id = o.customer_id and l.order_id = o.id
      group by o.id, o.total having coalesce(sum(l.amount), 0) <> o.total`.execute(database.db);
    expect(mismatched.rows).toEqual([]);

    const customer = done.customer;
    expect(customer).toMatchObject({
      id: SURVIVOR,
      external_id: 'WEB-10',
      name: '山田 花子',
      email: 'hanako@example.jp',
      phone: '090-1234-5678',
      address: '大阪市北区',
      birth_date: '1985-04-01',
      acquisition_source: 'store',
      account_owner: { id: 7, name: '佐藤' },
      home_store: { id: STORE_A },
      tags: ['vip', 'wine', 'sake'],
      custom_fields: { size: 'M', shoe: 23, club: true },
      do_not_contact: true,
      created_at: '2022-01-01T00:00:00.000Z',
    });
    expect(customer.consents.map((c: { channel: string }) => c.channel).sort()).toEqual(['email', 'sms']);

    const stub = await database.db
      .selectFrom('customers')
      .selectAll()
      .where('id', '=', MERGED)
      .executeTakeFirstOrThrow();
    expect(stub).toMatchObject({
      merged_into_customer_id: SURVIVOR,
      external_id: 'POS-20',
      name: null,
      name_kana: null,
      email: null,
      phone: null,
      address: null,
      birth_date: null,
      tags: [],
      custom_fields: {},
      home_store_id: null,
    });
    // Old ids and external ids lead to the survivor; so do earlier merges and referrals.
    for (const key of [String(MERGED), 'POS-20', 'OLD-40']) {
      const redirected = await app.inject({ method: 'GET', url: `/api/customers/${key}`, headers: owner });
      expect(redirected.statusCode).toBe(200);
      expect(redirected.json().id, key).toBe(SURVIVOR);
    }
    const related = await database.db
      .selectFrom('customers')
      .select(['id', 'referred_by_customer_id', 'merged_into_customer_id'])
      .where('id', 'in', [REFERRED, OLD_STUB])
      .orderBy('id')
      .execute();
    expect(related).toEqual([
      { id: REFERRED, referred_by_customer_id: SURVIVOR, merged_into_customer_id: null },
      { id: OLD_STUB, referred_by_customer_id: null, merged_into_customer_id: SURVIVOR },
    ]);
    for (const table of ['campaign_recipients', 'flow_enrollments'] as const) {
      const kept = await sql<{ customer_id: number }>`
        select customer_id from ${sql.table(table)} order by customer_id`.execute(database.db);
      expect(
        kept.rows.map((r) => r.customer_id),
        table,
      ).toEqual([SURVIVOR, MERGED].sort((a, b) => a - b));
    }
    // Derived rows of the merged customer are gone (the next refresh recomputes the survivor's), but for
    // its measures row, which the measures refresh removes (see below).
    for (const table of ['customer_clv', 'tier_snapshots'] as const) {
      const rows = await database.db
        .selectFrom(table)
        .select('customer_id')
        .where('customer_id', '=', MERGED)
        .execute();
      expect(rows, table).toEqual([]);
    }
    const measuresOf = async (id: number) =>
      (
        await sql<{
          n: number;
        }>`select count(*)::int as n from customer_measures where customer_id = ${id}`.execute(database.db)
      ).rows[0]!.n;
    expect(await measuresOf(MERGED)).toBe(1);
    const refresh = await refreshMeasures(database, { asOf: '2025-01-31' });
    expect(refresh.written.deleted).toBe(1);
    expect([await measuresOf(MERGED), await measuresOf(SURVIVOR)]).toEqual([0, 1]);
    // The merged-away customer is no longer found by search, nor offered as a duplicate.
    const found = await app.inject({
      method: 'GET',
      url: `/api/customers?q=${encodeURIComponent('山田')}`,
      headers: owner,
    });
    expect(found.json().customers.map((c: { id: number }) => c.id)).toEqual([SURVIVOR]);
    expect(await findDuplicateCandidates(database, CLI_ACTOR)).toEqual([]);
  });

  it('refuses merging an already merged customer again', async () => {
    const again = await app.inject({
      method: 'POST',
      url: `/api/customers/${SURVIVOR}/merge`,
      headers: owner,
      payload: { other: MERGED },
    });
    expect(again.statusCode).toBe(409);
    expect(again.json().error.message).toContain(`${MERGED} is already merged into customer ${SURVIVOR}`);
    await expect(previewMerge(database, MERGED, REFERRED)).rejects.toMatchObject({ code: 'merge_refused' });
  });

  it('moves the external id when only the merged customer has one, and clears a self-referral', async () => {
    const db = database.db;
    await db
      .insertInto('customers')
      .values([
        { id: 70, name: '紹介者', external_id: 'REF-70', home_store_id: STORE_A },
        { id: 71, name: '本人', home_store_id: STORE_A, referred_by_customer_id: 70 },
      ])
      .execute();
    const done = await mergeCustomers(database, 71, 70);
    const outcome = Object.fromEntries(done.fields.map((f) => [f.field, f]));
    expect(outcome.external_id).toMatchObject({ outcome: 'gained', result: 'REF-70' });
    expect(outcome.referred_by_customer_id).toMatchObject({ outcome: 'cleared', result: null });
    const rows = await db
      .selectFrom('customers')
      .select(['id', 'external_id', 'referred_by_customer_id'])
      .where('id', 'in', [70, 71])
      .orderBy('id')
      .execute();
    expect(rows).toEqual([
      { id: 70, external_id: null, referred_by_customer_id: null },
      { id: 71, external_id: 'REF-70', referred_by_customer_id: null },
    ]);
  });
});
