import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../src/api/index.ts';
import { CLI_ACTOR, queryAudit } from '../src/auth/index.ts';
import { type CustomerExport, eraseCustomer, exportCustomer } from '../src/customers/index.ts';
import { type Database, migrateToLatest, openDatabase } from '../src/db/index.ts';
import { signInAs, tokenHeaders } from './helpers/api.ts';
import { kizuna } from './helpers/cli.ts';
import { createTestTarget, openTestDatabase } from './helpers/database.ts';

let database: Database;
let app: FastifyInstance;

/** Every personal value of customer 1 and of the duplicate merged into them. */
const PERSONAL = {
  name: '佐藤 花子',
  kana: 'サトウ ハナコ',
  email: 'hanako.sato@example.jp',
  phone: '090-1234-5678',
  postal: '150-0041',
  address: '東京都渋谷区神南1-2-3',
  externalId: 'MEMBER-HANAKO',
  tag: 'wine-lover-vip',
  custom: '村上春樹ファン',
  note: 'ワインは氷入り',
  keyValue: 'ロゼのスパークリング',
  complaint: '右の靴がきしむ。交換を希望。',
  complaintSubject: '靴のきしみについて',
  touchSubject: '花子様だけの特別なご案内',
  returnReason: '花子様のご主人が落丁を発見',
  stubName: '佐藤 はなこ',
  stubEmail: 'hanako.old@example.jp',
  stubExternalId: 'MEMBER-HANAKO-OLD',
  stubNote: '旧会員番号での来店メモ',
  eventData: '花子様の結婚記念日',
  triggerData: '花子様の初回ご購入',
  taskPrompt: '花子様にお礼のお電話',
};

async function ordersTotals(): Promise<Record<string, string>> {
  const rows = await sql<{ store: string; total: string }>`
    select coalesce(store_id::text, 'none') as store, sum(total)::text as total from orders group by rollup (store_id)
    order by 1`.execute(database.db);
  return Object.fromEntries(rows.rows.map((r) => [r.store, r.total]));
}

/** Every base table of the schema, as text, one row at a time. */
async function everyRowAsText(): Promise<{ table: string; row: string }[]> {
  const tables = await sql<{ table_name: string }>`
    select table_name from information_schema.tables
    where table_schema = current_schema() and table_type = 'BASE TABLE' order by table_name`.execute(
    database.db,
  );
  const found: { table: string; row: string }[] = [];
  for (const { table_name } of tables.rows) {
    const rows = await sql<{ row: string }>`select t::text as row from ${sql.table(table_name)} t`.execute(
      database.db,
    );
    for (const { row } of rows.rows) found.push({ table: table_name, row });
  }
  return found;
}

beforeAll(async () => {
  database = await openTestDatabase();
  const db = database.db;
  await db
    .insertInto('stores')
    .values([
      { id: 1, code: 'A', name: '渋谷店' },
      { id: 2, code: 'B', name: '梅田店' },
    ])
    .execute();
  const staff = await db
    .insertInto('staff')
    .values({ code: 'ST01', name: '山田 太郎', role: 'store_staff', store_id: 1 })
    .returning('id')
    .executeTakeFirstOrThrow();
  await db
    .insertInto('products')
    .values([
      { id: 1, sku: 'LENS', name: 'Lenses', category: 'contact_lenses', price: '4800.00' },
      { id: 2, sku: 'BOOK', name: 'Book', category: 'books', price: '1980.00' },
    ])
    .execute();
  await db
    .insertInto('customers')
    .values([
      {
        id: 1,
        external_id: PERSONAL.externalId,
        name: PERSONAL.name,
        name_kana: PERSONAL.kana,
        email: PERSONAL.email,
        phone: PERSONAL.phone,
        postal_code: PERSONAL.postal,
        address: PERSONAL.address,
        birth_date: '1985-04-12',
        tags: [PERSONAL.tag],
        custom_fields: { favourite_author: PERSONAL.custom },
        acquisition_source: 'walk_in',
        home_store_id: 1,
        account_owner_staff_id: staff.id,
      },
      { id: 2, external_id: 'MEMBER-OTHER', name: '鈴木 一郎', email: 'ichiro@example.jp', home_store_id: 2 },
    ])
    .execute();
  await db
    .insertInto('customers')
    .values({
      id: 3,
      external_id: PERSONAL.stubExternalId,
      name: PERSONAL.stubName,
      email: PERSONAL.stubEmail,
      phone: PERSONAL.phone,
      merged_into_customer_id: 1,
    })
    .execute();
  await db
    .insertInto('consents')
    .values([
      { customer_id: 1, channel: 'email', granted: true, source: 'form' },
      { customer_id: 1, channel: 'letter', granted: false, source: 'form' },
      { customer_id: 3, channel: 'sms', granted: true, source: 'old card' },
      { customer_id: 2, channel: 'email', granted: true, source: 'form' },
    ])
    .execute();
  await db
    .insertInto('orders')
    .values([
      {
        customer_id: 1,
        id: 11,
        external_id: 'O11',
        store_id: 1,
        ordered_at: '2024-01-10T01:00:00Z',
        total: '11580.00',
      },
      {
        customer_id: 1,
        id: 12,
        external_id: 'O12',
        store_id: 2,
        ordered_at: '2024-03-01T01:00:00Z',
        total: '4800.00',
      },
      {
        customer_id: 2,
        id: 21,
        external_id: 'O21',
        store_id: 2,
        ordered_at: '2024-03-02T01:00:00Z',
        total: '1980.00',
      },
    ])
    .execute();
  await db
    .insertInto('order_lines')
    .values([
      {
        customer_id: 1,
        order_id: 11,
        line_no: 1,
        product_id: 1,
        quantity: 2,
        unit_price: 4800,
        amount: 9600,
      },
      {
        customer_id: 1,
        order_id: 11,
        line_no: 2,
        product_id: 2,
        quantity: 1,
        unit_price: 1980,
        amount: 1980,
      },
      {
        customer_id: 1,
        order_id: 12,
        line_no: 1,
        product_id: 1,
        quantity: 1,
        unit_price: 4800,
        amount: 4800,
      },
      {
        customer_id: 2,
        order_id: 21,
        line_no: 1,
        product_id: 2,
        quantity: 1,
        unit_price: 1980,
        amount: 1980,
      },
    ])
    .execute();
  await db
    .insertInto('returns')
    .values({
      customer_id: 1,
      external_id: 'R1',
      order_id: 11,
      product_id: 2,
      quantity: 1,
      amount: '1980.00',
      returned_at: '2024-01-20T01:00:00Z',
      reason: PERSONAL.returnReason,
    })
    .execute();
  await db
    .insertInto('touches')
    .values([
      {
        customer_id: 1,
        channel: 'email',
        campaign: 'spring',
        subject: PERSONAL.touchSubject,
        sent_at: '2024-03-01T00:00:00Z',
      },
      {
        customer_id: 3,
        channel: 'letter',
        campaign: 'dm',
        subject: PERSONAL.touchSubject,
        sent_at: '2023-03-01T00:00:00Z',
      },
    ])
    .execute();
  await db
    .insertInto('interactions')
    .values({
      customer_id: 1,
      kind: 'complaint',
      channel: 'store',
      status: 'resolved',
      subject: PERSONAL.complaintSubject,
      body: PERSONAL.complaint,
      store_id: 1,
      owner_staff_id: staff.id,
      opened_at: '2024-02-10T02:00:00Z',
      resolved_at: '2024-02-12T06:00:00Z',
    })
    .execute();
  await db
    .insertInto('preferences')
    .values([
      { customer_id: 1, note: PERSONAL.note, store_id: 1, author_staff_id: staff.id },
      { customer_id: 1, key: 'wine', value: PERSONAL.keyValue, store_id: 1, obsolete_at: new Date() },
      { customer_id: 3, note: PERSONAL.stubNote, store_id: 2 },
    ])
    .execute();
  await db
    .insertInto('customer_measures')
    .values({
      customer_id: 1,
      as_of: '2024-06-30',
      orders_count: 2,
      purchase_days: 2,
      total_spend: '16380.00',
      gross_margin: '8000.00',
      returns_amount: '1980.00',
      tier: 'regular',
    })
    .execute();
  await db
    .insertInto('tier_snapshots')
    .values([
      {
        period_end: '2024-01-31',
        customer_id: 1,
        tier: 'new',
        total_spend: '11580.00',
        orders_count: 1,
        tenure_days: 21,
      },
      {
        period_end: '2024-03-31',
        customer_id: 1,
        tier: 'regular',
        total_spend: '16380.00',
        orders_count: 2,
        tenure_days: 81,
      },
    ])
    .execute();
  const model = await db
    .insertInto('clv_models')
    .values({
      purchase_model: 'bgnbd',
      time_unit: 'days',
      calibration_end: '2024-06-30',
      customers: 2,
      purchase_params: {},
      purchase_report: {},
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  await db
    .insertInto('customer_clv')
    .values({
      customer_id: 1,
      model_id: model.id,
      frequency: 1,
      recency: 51,
      age: 172,
      probability_alive: 0.8,
      expected_purchases_next_year: 1.5,
      expected_spend: '8000.00',
      clv: '12000.00',
    })
    .execute();
  // A flow the customer entered from a custom event an integration sent, with a staff task.
  const flow = (
    await sql<{ id: number }>`insert into flows (name) values ('anniversary') returning id`.execute(db)
  ).rows[0]!;
  await sql`insert into flow_versions (flow_id, version, definition, created_by_name)
    values (${flow.id}, 1, '{}', 'test')`.execute(db);
  await sql`insert into flow_events (customer_id, name, data, occurred_at)
    values (1, 'anniversary', ${JSON.stringify({ note: PERSONAL.eventData })}, now())`.execute(db);
  const enrollment = (
    await sql<{
      id: number;
    }>`insert into flow_enrollments (customer_id, flow_id, version, occurrence, trigger_data, entered_at)
      values (1, ${flow.id}, 1, 'event:1', ${JSON.stringify({ note: PERSONAL.triggerData })}, now()) returning id`.execute(
      db,
    )
  ).rows[0]!;
  await sql`insert into flow_tasks (customer_id, enrollment_id, flow_id, title, prompt, due_at, created_at)
    values (1, ${enrollment.id}, ${flow.id}, 'thank you call', ${PERSONAL.taskPrompt}, now(), now())`.execute(
    db,
  );
  await sql`insert into flow_jobs (customer_id, enrollment_id, step_index, due_at)
    values (1, ${enrollment.id}, 0, now() + interval '1 day')`.execute(db);
  app = buildServer(database);
  await app.ready();
  // A person opened the customer by external id: an audit entry about them, naming that id.
  const manager = await signInAs(app, database, 'manager');
  const opened = await app.inject({
    method: 'GET',
    url: `/api/customers/${PERSONAL.externalId}/360`,
    headers: manager.headers,
  });
  expect(opened.statusCode).toBe(200);
});

afterAll(async () => {
  await app?.close();
  await database?.close();
});

describe('data-subject access: the export', () => {
  it('holds every row of every table about the customer and their merged-away record', async () => {
    const exported: CustomerExport = await exportCustomer(database, 1);
    expect(exported.customer).toMatchObject({ id: 1, name: PERSONAL.name, email: PERSONAL.email });
    expect(exported.merged_records.map((r) => r.id)).toEqual([3]);

    const ids = [1, 3];
    const counted: Record<string, number> = {
      consents: exported.consents.length,
      orders: exported.orders.length,
      order_lines: exported.orders.reduce((n, o) => n + o.lines.length, 0),
      returns: exported.returns.length,
      touches: exported.touches.length,
      interactions: exported.interactions.length,
      preferences: exported.preferences.length,
      customer_measures: exported.customer_measures ? 1 : 0,
      customer_clv: exported.customer_clv ? 1 : 0,
      tier_snapshots: exported.tier_snapshots.length,
      audit_log: exported.audit_log.length,
    };
    // Every table with a customer_id column, as found in the catalog: tables added later are covered too.
    const tables = await sql<{ table_name: string }>`
      select c.table_name from information_schema.columns c
      join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name
      where c.table_schema = current_schema() and c.column_name = 'customer_id' and t.table_type = 'BASE TABLE'`.execute(
      database.db,
    );
    let nonEmpty = 0;
    for (const { table_name } of tables.rows) {
      const direct = await sql<{ n: number }>`
        select count(*)::int as n from ${sql.table(table_name)} where customer_id = any(${ids}::bigint[])`.execute(
        database.db,
      );
      const expected = direct.rows[0]!.n;
      const inExport = counted[table_name] ?? exported.other_tables[table_name]?.length ?? 0;
      expect(inExport, table_name).toBe(expected);
      if (expected > 0) nonEmpty++;
    }
    expect(nonEmpty).toBeGreaterThanOrEqual(11);
    const customerRows = await database.db
      .selectFrom('customers')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where((eb) => eb.or([eb('id', '=', 1), eb('merged_into_customer_id', '=', 1)]))
      .executeTakeFirstOrThrow();
    expect(1 + exported.merged_records.length).toBe(Number(customerRows.n));
    // Obsolete notes too; money exact.
    expect(exported.preferences.some((p) => p.obsolete_at !== null)).toBe(true);
    expect(exported.orders.find((o) => o.id === 11)).toMatchObject({ total: '11580.00' });
  });

  it('is served to owners and managers, not to marketers or store staff', async () => {
    const owner = await app.inject({
      method: 'GET',
      url: '/api/customers/1/export',
      headers: await tokenHeaders(database, 'owner'),
    });
    expect(owner.statusCode).toBe(200);
    expect(owner.headers['content-disposition']).toContain('customer-1.json');
    expect(owner.json().customer.email).toBe(PERSONAL.email);
    for (const role of ['marketer', 'store_staff'] as const) {
      const response = await app.inject({
        method: 'GET',
        url: '/api/customers/1/export',
        headers: await tokenHeaders(database, role),
      });
      expect(response.statusCode, role).toBe(403);
    }
  });
});

describe('erasure: the right to be forgotten', () => {
  it('is refused to marketers and managers, and without confirmation', async () => {
    for (const role of ['marketer', 'manager'] as const) {
      const signedIn = await signInAs(app, database, role);
      const response = await app.inject({
        method: 'POST',
        url: '/api/customers/1/erase',
        headers: signedIn.headers,
        payload: { confirm: true, reason: 'customer asked' },
      });
      expect(response.statusCode, role).toBe(403);
    }
    const owner = await tokenHeaders(database, 'owner');
    const unconfirmed = await app.inject({
      method: 'POST',
      url: '/api/customers/1/erase',
      headers: owner,
      payload: { reason: 'customer asked' },
    });
    expect(unconfirmed.statusCode).toBe(400);
    expect(unconfirmed.json().error.field).toBe('confirm');
    const noReason = await app.inject({
      method: 'POST',
      url: '/api/customers/1/erase',
      headers: owner,
      payload: { confirm: true, reason: ' ' },
    });
    expect(noReason.statusCode).toBe(400);
    expect(noReason.json().error.field).toBe('reason');
  });

  it('leaves no personal value anywhere in the database, keeps sales totals, and records who erased', async () => {
    const totalsBefore = await ordersTotals();
    const before = await everyRowAsText();
    // The scan finds what it looks for: every value is in the database before.
    for (const value of Object.values(PERSONAL)) {
      expect(
        before.some((r) => r.row.includes(value)),
        value,
      ).toBe(true);
    }

    const owner = await signInAs(app, database, 'owner');
    const started = Date.now();
    const response = await app.inject({
      method: 'POST',
      url: '/api/customers/1/erase',
      headers: owner.headers,
      payload: { confirm: true, reason: 'request by letter, ticket 42' },
    });
    expect(response.statusCode).toBe(200);
    expect(response.json().erasure).toMatchObject({
      customer_id: 1,
      merged_records: 1,
      consents_deleted: 3,
      notes_deleted: 3,
      interactions_redacted: 1,
      touches_redacted: 2,
    });

    const after = await everyRowAsText();
    const leaks = after.filter((r) => Object.values(PERSONAL).some((value) => r.row.includes(value)));
    expect(leaks).toEqual([]);
    // Nothing waits to be sent to the erased customer.
    expect(
      await database.db.selectFrom('flow_jobs').select('state').where('customer_id', '=', 1).execute(),
    ).toEqual([{ state: 'cancelled' }]);
    expect(await ordersTotals()).toEqual(totalsBefore);
    expect(totalsBefore).toMatchObject({ '1': '11580.00', '2': '6780.00', none: '18360.00' });
    // Orders, lines, returns and measures stay, as anonymous records.
    const kept = await database.db
      .selectFrom('order_lines')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('customer_id', '=', 1)
      .executeTakeFirstOrThrow();
    expect(Number(kept.n)).toBe(3);
    expect(
      await database.db.selectFrom('customer_measures').select('tier').where('customer_id', '=', 1).execute(),
    ).toEqual([{ tier: 'regular' }]);
    // The other customer is untouched.
    expect(
      await database.db.selectFrom('customers').select('email').where('id', '=', 2).executeTakeFirst(),
    ).toEqual({
      email: 'ichiro@example.jp',
    });

    const audit = await queryAudit(database, { customerId: 1, action: 'customer.erase' });
    expect(audit.entries).toHaveLength(1);
    expect(audit.entries[0]).toMatchObject({
      actorKind: 'staff',
      actorStaffId: owner.staffId,
      actorName: 'Test owner',
      outcome: 'ok',
      customerId: 1,
      detail: { reason: 'request by letter, ticket 42', merged_customer_ids: [3] },
    });
    expect(audit.entries[0]!.at.getTime()).toBeGreaterThanOrEqual(started - 1000);
    expect(audit.entries[0]!.at.getTime()).toBeLessThanOrEqual(Date.now() + 1000);
  });

  it('shows the customer as erased in the 360, and refuses a second erasure with 409', async () => {
    const manager = await tokenHeaders(database, 'manager');
    const view = await app.inject({ method: 'GET', url: '/api/customers/1/360', headers: manager });
    expect(view.statusCode).toBe(200);
    const body = view.json();
    expect(body.customer).toMatchObject({
      id: 1,
      erased: true,
      do_not_contact: true,
      name: null,
      name_kana: null,
      email: null,
      phone: null,
      address: null,
      postal_code: null,
      birth_date: null,
      external_id: null,
      tags: [],
      custom_fields: {},
      consents: [],
    });
    expect(body.customer.erased_at).not.toBeNull();
    expect(body.preference_notes).toEqual([]);
    expect(body.purchases).toMatchObject({ orders_count: 2, total_spend: '16380.00' });

    const again = await app.inject({
      method: 'POST',
      url: '/api/customers/1/erase',
      headers: await tokenHeaders(database, 'owner'),
      payload: { confirm: true, reason: 'again' },
    });
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('customer_already_erased');
    await expect(eraseCustomer(database, CLI_ACTOR, 1, 'again')).rejects.toMatchObject({ status: 409 });
    const notes = await app.inject({
      method: 'POST',
      url: '/api/customers/1/preferences',
      headers: await tokenHeaders(database, 'store_staff'),
      payload: { note: 'a note about nobody' },
    });
    expect(notes.statusCode).toBe(409);
  });
});

describe('kizuna privacy', () => {
  it('exports to a file and erases only with --yes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kizuna-privacy-'));
    const target = await createTestTarget(join(dir, 'data'));
    try {
      const seeded = await openDatabase(target.config);
      try {
        await migrateToLatest(seeded);
        await seeded.db
          .insertInto('customers')
          .values({ id: 7, external_id: 'CLI-7', name: '高橋 次郎', email: 'jiro@example.jp' })
          .execute();
      } finally {
        await seeded.close();
      }
      const out = join(dir, 'jiro.json');
      const exported = await kizuna(['privacy', 'export', 'jiro@example.jp', '--out', out], target.env);
      expect(exported.code, exported.stderr).toBe(0);
      expect(JSON.parse(await readFile(out, 'utf8'))).toMatchObject({
        customer_id: 7,
        customer: { name: '高橋 次郎' },
      });

      const unconfirmed = await kizuna(
        ['privacy', 'erase', 'CLI-7', '--reason', 'asked by phone'],
        target.env,
      );
      expect(unconfirmed.code).toBe(1);
      expect(unconfirmed.stderr).toContain('--yes');
      const erased = await kizuna(
        ['privacy', 'erase', 'CLI-7', '--reason', 'asked by phone', '--yes'],
        target.env,
      );
      expect(erased.code, erased.stderr).toBe(0);
      expect(erased.stdout).toContain('customer 7 erased');
      const again = await kizuna(['privacy', 'erase', '7', '--reason', 'again', '--yes'], target.env);
      expect(again.code).toBe(1);
      expect(again.stderr).toContain('was erased');
    } finally {
      await target.drop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
