import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase } from '../../test/helpers/database.ts';
import type { Database } from '../db/index.ts';
import { importRecords, KIND_NAMES, openFileSource } from './index.ts';

const shop = (file: string) => join(import.meta.dirname, '../../test/fixtures/shop', file);
const bad = (file: string) => join(import.meta.dirname, '../../test/fixtures/bad', file);

async function importShop(database: Database) {
  const results = [];
  for (const kind of KIND_NAMES) {
    results.push(
      await importRecords(database, kind, await openFileSource(shop(`${kind}.csv`)), {
        timeZone: 'Asia/Tokyo',
      }),
    );
  }
  return results;
}

async function tableCounts(database: Database) {
  const counts: Record<string, number> = {};
  for (const table of [
    'stores',
    'staff',
    'products',
    'customers',
    'consents',
    'orders',
    'order_lines',
    'returns',
    'touches',
    'interactions',
    'preferences',
  ]) {
    counts[table] = (
      await sql<{ n: number }>`select count(*)::int as n from ${sql.table(table)}`.execute(database.db)
    ).rows[0]!.n;
  }
  return counts;
}

describe('import of every kind', () => {
  let database: Database;
  beforeAll(async () => {
    database = await openTestDatabase();
  });
  afterAll(async () => database.close());

  it('loads every kind with Japanese text intact and reports what it did', async () => {
    const results = await importShop(database);
    expect(results.map((r) => [r.kind, r.inserted, r.rejected])).toEqual([
      ['stores', 2, 0],
      ['staff', 2, 0],
      ['products', 3, 0],
      ['customers', 3, 0],
      ['orders', 4, 0],
      ['returns', 1, 0],
      ['touches', 2, 0],
      ['interactions', 2, 0],
      ['preferences', 3, 0],
    ]);
    expect(results.find((r) => r.kind === 'orders')!.extra.orders_inserted).toBe(3);
    // Done for the planner and, on PGlite (no autovacuum), for index-only counts: every written table and
    // the segment facts its triggers keep are analyzed, and on PGlite vacuumed (pages all-visible).
    const { rows: tables } = await sql<{ name: string; analyzed: boolean; visible: boolean }>`
      select relname as name, reltuples >= 0 as analyzed, relallvisible > 0 as visible from pg_class
      where relname in ('orders', 'order_lines', 'customer_category_facts', 'consents_in_force')
      order by relname`.execute(database.db);
    expect(tables.map((t) => [t.name, t.analyzed])).toEqual(
      ['consents_in_force', 'customer_category_facts', 'order_lines', 'orders'].map((name) => [name, true]),
    );
    if (database.engine === 'pglite') expect(tables.filter((t) => !t.visible)).toEqual([]);

    const hanako = await database.db
      .selectFrom('customers')
      .selectAll()
      .where('external_id', '=', 'C001')
      .executeTakeFirstOrThrow();
    expect(hanako).toMatchObject({
      name: '佐藤 花子',
      name_kana: 'サトウ ハナコ',
      email: 'hanako@example.jp',
      birth_date: '1985-04-12',
      tags: ['vip', 'wine'],
      custom_fields: { favourite_author: '村上春樹' },
      acquisition_source: 'walk_in',
    });
    const john = await database.db
      .selectFrom('customers')
      .selectAll()
      .where('external_id', '=', 'C002')
      .executeTakeFirstOrThrow();
    expect(john.referred_by_customer_id).toBe(hanako.id);

    const consents = await database.db
      .selectFrom('consents')
      .select(['channel', 'granted', 'source'])
      .where('customer_id', '=', hanako.id)
      .orderBy('channel')
      .execute();
    expect(consents).toEqual([
      { channel: 'email', granted: true, source: 'import' },
      { channel: 'letter', granted: false, source: 'import' },
    ]);

    // Order O1: two lines, total 2×4800 + 1980; its time was given with +09:00.
    const o1 = await database.db
      .selectFrom('orders')
      .selectAll()
      .where('external_id', '=', 'O1')
      .executeTakeFirstOrThrow();
    expect(o1.total).toBe('11580.00');
    expect(o1.ordered_at.toISOString()).toBe('2025-01-10T01:00:00.000Z');
    // O2 had no offset: read in the import's time zone (Asia/Tokyo, +09:00).
    const o2 = await database.db
      .selectFrom('orders')
      .selectAll()
      .where('external_id', '=', 'O2')
      .executeTakeFirstOrThrow();
    expect(o2.ordered_at.toISOString()).toBe('2025-02-01T06:30:00.000Z');
    const lines = await database.db
      .selectFrom('order_lines')
      .selectAll()
      .where('order_id', '=', o1.id)
      .orderBy('line_no')
      .execute();
    expect(lines.map((l) => [l.line_no, l.quantity, l.unit_price, l.amount])).toEqual([
      [1, 2, '4800.00', '9600.00'],
      [2, 1, '1980.00', '1980.00'],
    ]);
    const book = await database.db
      .selectFrom('products')
      .selectAll()
      .where('sku', '=', 'BK-001')
      .executeTakeFirstOrThrow();
    expect(book.name).toBe('本: 村上春樹 "騎士団長殺し"');

    const complaint = await database.db
      .selectFrom('interactions')
      .selectAll()
      .where('external_id', '=', 'I1')
      .executeTakeFirstOrThrow();
    expect(complaint.body).toBe('右の靴がきしむ。\n交換を希望。');
    expect(complaint.status).toBe('resolved');
    const call = await database.db
      .selectFrom('interactions')
      .selectAll()
      .where('external_id', '=', 'I2')
      .executeTakeFirstOrThrow();
    expect([call.status, call.duration_seconds]).toEqual(['open', 330]);
    const note = await database.db
      .selectFrom('preferences')
      .selectAll()
      .where('external_id', '=', 'P1')
      .executeTakeFirstOrThrow();
    expect([note.key, note.value]).toEqual(['wine', 'ワインは氷入り']);
    const letter = await database.db
      .selectFrom('touches')
      .selectAll()
      .where('external_id', '=', 'T2')
      .executeTakeFirstOrThrow();
    expect([letter.subject, letter.cost]).toEqual(['Spring, with love', '120.00']);
  });

  it('changes nothing when the same files are imported again, and says so', async () => {
    const before = await tableCounts(database);
    const again = await importShop(database);
    for (const r of again) {
      expect([r.kind, r.inserted, r.updated, r.rejected]).toEqual([r.kind, 0, 0, 0]);
      expect(r.unchanged).toBe(r.rows);
    }
    expect(again.find((r) => r.kind === 'customers')!.extra.consent_changes).toBe(0);
    expect(await tableCounts(database)).toEqual(before);
  });

  it('updates a changed row by its external id and records a consent change as history', async () => {
    const path = join(tmpdir(), `kizuna-customers-${process.pid}.csv`);
    await writeFile(path, 'external_id,name,consent_email\nC001,佐藤 花子,no\n');
    const result = await importRecords(database, 'customers', await openFileSource(path));
    expect([result.inserted, result.updated, result.extra.consent_changes]).toEqual([0, 1, 1]);
    const consents = await database.db
      .selectFrom('consents')
      .innerJoin('customers', 'customers.id', 'consents.customer_id')
      .select(['consents.granted'])
      .where('customers.external_id', '=', 'C001')
      .where('consents.channel', '=', 'email')
      .orderBy('consents.id')
      .execute();
    expect(consents.map((c) => c.granted)).toEqual([true, false]);
  });

  it('reads JSON Lines with arrays and custom fields', async () => {
    const path = join(tmpdir(), `kizuna-customers-${process.pid}.jsonl`);
    await writeFile(
      path,
      `${JSON.stringify({ external_id: 'J1', name: '高橋 健', tags: ['new', 'online'], custom_fields: { size: 26.5 }, consent_email: true })}\n` +
        'not json\n',
    );
    const result = await importRecords(database, 'customers', await openFileSource(path));
    expect(result.inserted).toBe(1);
    expect(result.errors).toEqual([
      expect.objectContaining({ line: 2, reason: expect.stringContaining('not valid JSON') }),
    ]);
    const j1 = await database.db
      .selectFrom('customers')
      .selectAll()
      .where('external_id', '=', 'J1')
      .executeTakeFirstOrThrow();
    expect([j1.tags, j1.custom_fields]).toEqual([['new', 'online'], { size: '26.5' }]);
  });
});

describe('bad input', () => {
  let database: Database;
  beforeAll(async () => {
    database = await openTestDatabase();
    for (const kind of ['stores', 'products', 'customers'] as const) {
      await importRecords(database, kind, await openFileSource(shop(`${kind}.csv`)));
    }
  });
  afterAll(async () => database.close());

  it('reports each bad row by file, line and field, and keeps the good ones', async () => {
    const result = await importRecords(database, 'orders', await openFileSource(bad('orders.csv')));
    expect(result.errors.map((e) => [e.file, e.line, e.field])).toEqual([
      ['orders.csv', 2, 'ordered_at'],
      ['orders.csv', 3, 'quantity'],
      ['orders.csv', 4, 'customer_id'],
      ['orders.csv', 6, 'unit_price'],
    ]);
    expect(result.errors[0]!.reason).toContain("'2025-13-01' is not a date-time");
    expect(result.errors[1]!.reason).toBe('must be at least 1, got -2');
    expect(result.errors[2]!.reason).toBe("unknown customer 'NOPE'");
    expect([result.rows, result.inserted, result.rejected, result.committed]).toEqual([5, 1, 4, true]);
  });

  it('reports an unknown product once the row is otherwise valid', async () => {
    const path = join(tmpdir(), `kizuna-orders-${process.pid}.csv`);
    await writeFile(
      path,
      'order_id,customer_id,ordered_at,sku,quantity,unit_price\nX1,C001,2025-01-01,NO-SKU,1,100\n',
    );
    const result = await importRecords(database, 'orders', await openFileSource(path));
    expect(result.errors).toEqual([
      {
        file: path.split('/').at(-1),
        line: 2,
        field: 'sku',
        value: 'NO-SKU',
        reason: "unknown product 'NO-SKU'",
      },
    ]);
  });

  it('writes nothing under --strict when any row is bad', async () => {
    const before = await tableCounts(database);
    const result = await importRecords(database, 'orders', await openFileSource(bad('orders.csv')), {
      strict: true,
      batchSize: 2,
    });
    expect(result.committed).toBe(false);
    expect(result.rejected).toBe(4);
    expect(await tableCounts(database)).toEqual(before);
  });

  it('creates missing references with --create-missing', async () => {
    const path = join(tmpdir(), `kizuna-orders-cm-${process.pid}.csv`);
    await writeFile(
      path,
      'order_id,customer_id,store,ordered_at,sku,quantity,unit_price\nM1,NEW1,S09,2025-01-01,NEW-SKU,2,150\n',
    );
    const result = await importRecords(database, 'orders', await openFileSource(path), {
      createMissing: true,
    });
    expect([result.inserted, result.rejected]).toEqual([1, 0]);
    const product = await database.db
      .selectFrom('products')
      .selectAll()
      .where('sku', '=', 'NEW-SKU')
      .executeTakeFirstOrThrow();
    expect([product.category, product.price]).toEqual(['uncategorised', '150.00']);
  });

  it('refuses a file with a missing column before writing anything', async () => {
    await expect(
      importRecords(database, 'orders', await openFileSource(bad('missing-column.csv'))),
    ).rejects.toThrow(/missing-column\.csv:1: missing column unit_price/);
  });

  it('refuses a file that is not UTF-8 and names the line', async () => {
    await expect(openFileSource(bad('sjis-customers.csv'))).rejects.toMatchObject({
      code: 'wrong_encoding',
      message: expect.stringMatching(/^sjis-customers\.csv:2: the file is not UTF-8/),
    });
  });

  it('counts in a dry run and writes nothing', async () => {
    const before = await tableCounts(database);
    const result = await importRecords(database, 'touches', await openFileSource(shop('touches.csv')), {
      dryRun: true,
    });
    expect([result.inserted, result.committed]).toEqual([2, false]);
    expect(await tableCounts(database)).toEqual(before);
  });

  it('keeps committed batches and leaves no half batch when an error strikes mid-import', async () => {
    const rows = Array.from({ length: 25 }, (_, i) => `K${i},C003,2025-01-01,LENS-2W,1,4800`);
    const path = join(tmpdir(), `kizuna-orders-kill-${process.pid}.csv`);
    await writeFile(path, `order_id,customer_id,ordered_at,sku,quantity,unit_price\n${rows.join('\n')}\n`);
    await expect(
      importRecords(database, 'orders', await openFileSource(path), {
        batchSize: 10,
        beforeCommit: (batch) => {
          if (batch === 3) throw new Error('disk full');
        },
      }),
    ).rejects.toThrow('disk full');
    const kept = await sql<{
      n: number;
    }>`select count(*)::int as n from orders where external_id like 'K%'`.execute(database.db);
    expect(kept.rows[0]!.n).toBe(20);
    const resumed = await importRecords(database, 'orders', await openFileSource(path), { batchSize: 10 });
    expect([resumed.inserted, resumed.unchanged]).toEqual([5, 20]);
  });

  it('numbers lines in file order and refuses an order whose lines are scattered', async () => {
    const path = join(tmpdir(), `kizuna-orders-scatter-${process.pid}.csv`);
    await writeFile(
      path,
      'order_id,customer_id,ordered_at,sku,quantity,unit_price\nQ1,C001,2025-01-01,LENS-2W,1,4800\nQ1,C001,2025-01-01,GLS-01,1,24000\nQ2,C001,2025-01-02,LENS-2W,1,4800\nQ1,C001,2025-01-01,BK-001,1,1980\n',
    );
    const result = await importRecords(database, 'orders', await openFileSource(path));
    expect(result.errors.map((e) => [e.line, e.field])).toEqual([[5, 'line_no']]);
    const q1 = await database.db
      .selectFrom('orders')
      .select('total')
      .where('external_id', '=', 'Q1')
      .executeTakeFirstOrThrow();
    expect(q1.total).toBe('28800.00');
  });
});
