import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../src/api/index.ts';
import type { Database } from '../src/db/index.ts';
import { tokenHeaders } from './helpers/api.ts';
import { openTestDatabase } from './helpers/database.ts';

let database: Database;
let app: FastifyInstance;
let owner: Record<string, string>;
let staffA: Record<string, string>;

const STORE_A = 1;
const STORE_B = 2;

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
  app = buildServer(database);
  owner = await tokenHeaders(database, 'owner');
  staffA = await tokenHeaders(database, 'store_staff', { storeIds: [STORE_A] });
});

afterAll(async () => {
  await app?.close();
  await database?.close();
});

async function post(url: string, payload: unknown, headers = owner) {
  return app.inject({ method: 'POST', url, payload: payload as object, headers });
}

async function get(url: string, headers = owner) {
  return app.inject({ method: 'GET', url, headers });
}

describe('creating, reading and changing a customer', () => {
  it('creates a customer with its consents, each recorded with time and source', async () => {
    const before = Date.now();
    const response = await post('/api/customers', {
      external_id: 'M-1001',
      name: '鈴木 一郎',
      name_kana: 'スズキ イチロウ',
      email: 'ichiro@example.jp',
      phone: '03-1234-5678',
      birth_date: '1980-02-29',
      tags: ['vip', 'vip', 'wine'],
      custom_fields: { size: 'M', visits: 3, newsletter: true },
      acquisition_source: 'web',
      account_owner_staff_id: 7,
      home_store_id: STORE_A,
      consents: [
        { channel: 'email', granted: true },
        { channel: 'sms', granted: false },
      ],
    });
    expect(response.statusCode).toBe(201);
    const customer = response.json();
    expect(customer).toMatchObject({
      external_id: 'M-1001',
      name: '鈴木 一郎',
      birth_date: '1980-02-29',
      tags: ['vip', 'wine'],
      custom_fields: { size: 'M', visits: 3, newsletter: true },
      acquisition_source: 'web',
      home_store: { id: STORE_A, code: 'A', name: '渋谷店' },
      account_owner: { id: 7, name: '佐藤' },
      referred_by: null,
    });
    expect(customer.consents).toHaveLength(2);
    for (const consent of customer.consents) {
      expect(consent.source).toMatch(/^api:token:\d+$/);
      expect(Date.parse(consent.recorded_at)).toBeGreaterThanOrEqual(before - 1000);
    }
    const rows = await database.db
      .selectFrom('consents')
      .selectAll()
      .where('customer_id', '=', customer.id)
      .execute();
    expect(rows.map((r) => [r.channel, r.granted]).sort()).toEqual([
      ['email', true],
      ['sms', false],
    ]);

    const byExternalId = await get('/api/customers/M-1001');
    expect(byExternalId.statusCode).toBe(200);
    expect(byExternalId.json()).toEqual(customer);
  });

  it('refuses invalid input with the field at fault', async () => {
    const cases: [unknown, string][] = [
      [{ name: 'A', email: 'not-an-email' }, 'email'],
      [{ name: 'A', phone: '090-abcd-5678' }, 'phone'],
      [{ name: 'A', birth_date: '1980-13-01' }, 'birth_date'],
      [{ name: 'A', birth_date: '2999-01-01' }, 'birth_date'],
      [{ name: 'A', tags: ['x'.repeat(51)] }, 'tags'],
      [{ name: 'A', custom_fields: { nested: { a: 1 } } }, 'custom_fields.nested'],
      [{ name: 'A', home_store_id: 99 }, 'home_store_id'],
      [{ name: 'A', account_owner_staff_id: 99 }, 'account_owner_staff_id'],
      [{ name: 'A', unknown_field: 1 }, undefined as unknown as string],
      [{ tags: ['x'] }, 'name'],
    ];
    for (const [payload, field] of cases) {
      const response = await post('/api/customers', payload);
      expect(response.statusCode, JSON.stringify(payload)).toBe(400);
      expect(response.json().error.code).toBe('invalid_request');
      if (field !== undefined) expect(response.json().error.field, JSON.stringify(payload)).toBe(field);
    }
    const taken = await post('/api/customers', { name: 'B', external_id: 'M-1001' });
    expect(taken.statusCode).toBe(409);
    expect(taken.json().error).toMatchObject({ code: 'external_id_taken', field: 'external_id' });
  });

  it("gives a store-limited caller's new customer their store, and refuses another store", async () => {
    const created = await post('/api/customers', { name: '店頭 登録' }, staffA);
    expect(created.statusCode).toBe(201);
    expect(created.json().home_store.id).toBe(STORE_A);
    expect((await get(`/api/customers/${created.json().id}`, staffA)).statusCode).toBe(200);

    const elsewhere = await post('/api/customers', { name: '他店 登録', home_store_id: STORE_B }, staffA);
    expect(elsewhere.statusCode).toBe(403);
  });

  it('changes only the given fields; null clears; custom fields are merged', async () => {
    const { id } = (
      await post('/api/customers', {
        name: '変更 前',
        phone: '0120-000-000',
        custom_fields: { a: 1, b: 'x' },
      })
    ).json();
    const response = await app.inject({
      method: 'PATCH',
      url: `/api/customers/${id}`,
      headers: owner,
      payload: { name: '変更 後', phone: null, custom_fields: { a: 2, b: null, c: true }, tags: ['new'] },
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({
      name: '変更 後',
      phone: null,
      custom_fields: { a: 2, c: true },
      tags: ['new'],
    });
    expect(response.json().custom_fields).not.toHaveProperty('b');

    const badStaff = await app.inject({
      method: 'PATCH',
      url: `/api/customers/${id}`,
      headers: owner,
      payload: { account_owner_staff_id: 12345 },
    });
    expect(badStaff.statusCode).toBe(400);
    expect(badStaff.json().error.field).toBe('account_owner_staff_id');
    const selfReferral = await app.inject({
      method: 'PATCH',
      url: `/api/customers/${id}`,
      headers: owner,
      payload: { referred_by_customer_id: id },
    });
    expect(selfReferral.statusCode).toBe(400);
  });

  it('records each consent change with its time and source; the latest is in force', async () => {
    const { id } = (
      await post('/api/customers', { name: '同意 太郎', consents: [{ channel: 'email', granted: true }] })
    ).json();
    const before = Date.now();
    const response = await post(`/api/customers/${id}/consents`, {
      channel: 'email',
      granted: false,
      source: 'web form',
    });
    expect(response.statusCode).toBe(201);
    const { consent, consents } = response.json();
    expect(consent).toMatchObject({ channel: 'email', granted: false });
    expect(consent.source).toMatch(/^web form \(api:token:\d+\)$/);
    expect(Date.parse(consent.recorded_at)).toBeGreaterThanOrEqual(before - 1000);
    expect(consents).toEqual([consent]);

    const history = await database.db
      .selectFrom('consents')
      .select(['granted', 'source', 'recorded_at'])
      .where('customer_id', '=', id)
      .orderBy('id')
      .execute();
    expect(history.map((h) => h.granted)).toEqual([true, false]);

    const customer = (await get(`/api/customers/${id}`)).json();
    expect(customer.consents).toEqual([consent]);

    const invalid = await post(`/api/customers/${id}/consents`, { channel: 'fax', granted: true });
    expect(invalid.statusCode).toBe(400);
    expect(invalid.json().error.field).toBe('channel');
  });

  it('refuses writes by a role without customers:write', async () => {
    const marketer = await tokenHeaders(database, 'marketer');
    expect((await post('/api/customers', { name: 'X' }, marketer)).statusCode).toBe(403);
    expect((await get('/api/customers?q=x', marketer)).statusCode).toBe(200);
  });
});

describe('search', () => {
  const ids: Record<string, number> = {};

  beforeAll(async () => {
    const db = database.db;
    const insert = async (
      key: string,
      values: Parameters<ReturnType<typeof db.insertInto<'customers'>>['values']>[0],
    ) => {
      const row = await db.insertInto('customers').values(values).returning('id').executeTakeFirstOrThrow();
      ids[key] = row.id;
    };
    await insert('hanako', {
      external_id: 'S-HANAKO',
      name: '山田 花子',
      name_kana: 'ヤマダ ハナコ',
      email: 'Hanako.Yamada@Example.jp',
      phone: '090-1234-5678',
      tags: ['vip', 'sake'],
      home_store_id: STORE_A,
    });
    await insert('latin', { name: 'Taro Smith', name_kana: 'スミス タロウ', phone: '(03) 9999 0000' });
    await insert('storeB', { name: '北川 梅子', email: 'umeko@example.jp', home_store_id: STORE_B });
    // A store-B customer who bought at store A belongs to store A too (the store-scope rule).
    await insert('boughtAtA', { name: '北川 松子', home_store_id: STORE_B });
    await db
      .insertInto('orders')
      .values({
        customer_id: ids.boughtAtA!,
        external_id: 'SO-1',
        store_id: STORE_A,
        ordered_at: '2024-01-01T00:00:00Z',
      })
      .execute();
    await insert('merged', { name: '山田 花子', merged_into_customer_id: ids.hanako! });
    await insert('erased', { name: '山田 花子', erased_at: new Date() });
    for (let i = 1; i <= 60; i++) {
      await insert(`page${i}`, {
        name: `頁 ${i}`,
        tags: ['paging'],
        home_store_id: i % 2 === 0 ? STORE_A : STORE_B,
      });
    }
  });

  async function search(
    query: string,
    headers = owner,
  ): Promise<{ customers: { id: number }[]; nextCursor: string | null }> {
    const response = await get(`/api/customers?${query}`, headers);
    expect(response.statusCode, response.body).toBe(200);
    return response.json();
  }

  const found = async (q: string, headers = owner) =>
    (await search(`q=${encodeURIComponent(q)}`, headers)).customers.map((c) => c.id);

  it('finds by name and kana, with or without spaces, any case or kana script', async () => {
    for (const q of [
      '山田 花子',
      '山田花子',
      '山田',
      '花子',
      'ヤマダ ハナコ',
      'ヤマダハナコ',
      'やまだ',
      'ﾔﾏﾀﾞ',
      'ハナコ',
    ]) {
      expect(await found(q), q).toEqual([ids.hanako]);
    }
    expect(await found('taro smith')).toEqual([ids.latin]);
    expect(await found('SMITH')).toEqual([ids.latin]);
    expect(await found('タロウ')).toEqual([ids.latin]);
  });

  it('finds by e-mail exactly or by its beginning, any case', async () => {
    expect(await found('hanako.yamada@example.jp')).toEqual([ids.hanako]);
    expect(await found('HANAKO.YAMADA@EXAMPLE.JP')).toEqual([ids.hanako]);
    expect(await found('hanako.yam')).toEqual([ids.hanako]);
  });

  it('finds by phone digits whatever the formatting', async () => {
    for (const q of ['09012345678', '090-1234-5678', '090 1234 5678', '０９０１２３４５６７８', '0901234']) {
      expect(await found(q), q).toEqual([ids.hanako]);
    }
    expect(await found('03-9999-0000')).toEqual([ids.latin]);
  });

  it('finds by external id and id, and by tag; never merged-away or erased customers', async () => {
    expect(await found('S-HANAKO')).toEqual([ids.hanako]);
    expect(await found(String(ids.hanako))).toContain(ids.hanako);
    expect((await search('tag=sake')).customers.map((c) => c.id)).toEqual([ids.hanako]);
    expect((await search(`tag=sake&q=${encodeURIComponent('梅子')}`)).customers).toEqual([]);
    expect(await found('山田')).not.toContain(ids.merged);
    expect(await found('山田')).not.toContain(ids.erased);
    expect(await found('100%')).toEqual([]);
  });

  it('pages through results without duplicates or gaps, newest first', async () => {
    const seen: number[] = [];
    let cursor: string | null = null;
    const sizes: number[] = [];
    do {
      const page: { customers: { id: number }[]; nextCursor: string | null } = await search(
        `tag=paging&limit=25${cursor ? `&cursor=${cursor}` : ''}`,
      );
      sizes.push(page.customers.length);
      seen.push(...page.customers.map((c) => c.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(sizes).toEqual([25, 25, 10]);
    const expected = Array.from({ length: 60 }, (_, i) => ids[`page${60 - i}`]);
    expect(seen).toEqual(expected);
    expect((await search('tag=paging')).customers).toHaveLength(25);
    expect((await get('/api/customers?limit=101')).statusCode).toBe(400);
    expect((await get('/api/customers?cursor=bogus')).json().error.field).toBe('cursor');
  });

  it("limits a store's staff to their stores' customers, by the same rule as opening one", async () => {
    expect(await found('梅子', staffA)).toEqual([]);
    const outOfScope = await get(`/api/customers/${ids.storeB}`, staffA);
    expect(outOfScope.statusCode).toBe(403);
    expect(outOfScope.json().error.code).toBe('customer_out_of_scope');
    expect(await found('梅子')).toEqual([ids.storeB]);

    expect(await found('松子', staffA)).toEqual([ids.boughtAtA]);
    expect((await get(`/api/customers/${ids.boughtAtA}`, staffA)).statusCode).toBe(200);

    const pages = (await search('tag=paging&limit=100', staffA)).customers.map((c) => c.id);
    expect(pages).toHaveLength(30);
    expect((await search(`tag=paging&limit=100&storeId=${STORE_B}`)).customers).toHaveLength(30);
    // A store filter never widens the caller's scope.
    expect((await search(`tag=paging&storeId=${STORE_B}`, staffA)).customers).toEqual([]);
  });

  it('routes /api/customers/duplicates to the duplicates list, not to a customer with that id', async () => {
    const response = await get('/api/customers/duplicates');
    expect(response.statusCode).toBe(200);
    expect(response.json()).toHaveProperty('candidates');
  });
});
