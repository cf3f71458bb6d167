import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestTarget, type TestTarget } from '../../test/helpers/database.ts';
import {
  copyText,
  type Database,
  LOCK_FILE,
  lockDataDir,
  migrateToLatest,
  migrationStatus,
  openDatabase,
  restoreDatabase,
} from './index.ts';
import { migrations } from './migrations/index.ts';

describe('the database', () => {
  let target: TestTarget;
  let database: Database;
  beforeAll(async () => {
    target = await createTestTarget();
    database = await openDatabase(target.config);
  });
  afterAll(async () => {
    await database.close();
    await target.drop();
  });

  it('migrates from empty, and a second run applies nothing', async () => {
    const all = Object.keys(migrations);
    expect((await migrationStatus(database)).map((m) => m.executedAt)).toEqual(all.map(() => null));
    expect(await migrateToLatest(database)).toEqual(all);
    expect(await migrateToLatest(database)).toEqual([]);
    const tables = await sql<{ table_name: string }>`
      select table_name from information_schema.tables where table_schema = 'public' and table_name not like 'kizuna_%'
      order by table_name`.execute(database.db);
    expect(tables.rows.map((t) => t.table_name)).toEqual([
      'api_tokens',
      'audit_log',
      'business_calendars',
      'campaign_recipients',
      'campaign_variants',
      'campaigns',
      'clv_equity_history',
      'clv_models',
      'consents',
      'consents_in_force',
      'csat_responses',
      'customer_category_facts',
      'customer_clv',
      'customer_measure_rows',
      'customer_measures',
      'customers',
      'flow_enrollments',
      'flow_events',
      'flow_jobs',
      'flow_segment_members',
      'flow_step_events',
      'flow_tasks',
      'flow_versions',
      'flows',
      'follow_ups',
      'interactions',
      'measures_cut_points',
      'measures_dirty_customers',
      'measures_histograms',
      'measures_refreshes',
      'order_lines',
      'orders',
      'preferences',
      'products',
      'returns',
      'segment_sizes',
      'segment_snapshot_members',
      'segment_snapshots',
      'segments',
      'sessions',
      'settings',
      'sla_escalations',
      'sla_policies',
      'staff',
      'staff_stores',
      'stores',
      'team_members',
      'teams',
      'ticket_messages',
      'ticket_status_changes',
      'tier_snapshots',
      'touches',
    ]);
  });

  it('gives the same value shapes on both engines: ids as numbers, money as exact strings, dates as text', async () => {
    const row = (
      await sql<{ n: number; m: string; d: string; t: Date }>`
        select count(*) as n, 0.1::numeric(14,2) + 0.2::numeric(14,2) as m, date '2024-02-29' as d,
               timestamptz '2025-01-01 09:00+09' as t`.execute(database.db)
    ).rows[0]!;
    expect(row).toEqual({ n: 1, m: '0.30', d: '2024-02-29', t: new Date('2025-01-01T00:00:00Z') });
  });

  it('loads COPY text with tabs, newlines, backslashes, nulls and Japanese intact, and rolls back on error', async () => {
    const values = ['a\tb', 'line1\nline2\r', 'back\\slash', null, '絆'];
    await database.transaction(async (tx) => {
      await sql`create temp table copy_check (i int, v text) on commit drop`.execute(tx.db);
      await tx.copy('copy_check', ['i', 'v'], values.map((v, i) => `${i}\t${copyText(v)}\n`).join(''));
      const rows = await sql<{ v: string | null }>`select v from copy_check order by i`.execute(tx.db);
      expect(rows.rows.map((r) => r.v)).toEqual(values);
    });
    await expect(
      database.transaction(async (tx) => {
        await tx.db.insertInto('stores').values({ code: 'TX', name: 'rolled back' }).execute();
        throw new Error('stop');
      }),
    ).rejects.toThrow('stop');
    expect(await database.db.selectFrom('stores').select('code').where('code', '=', 'TX').execute()).toEqual(
      [],
    );
  });

  it('refuses identifiers that are not plain names in COPY', async () => {
    await expect(database.transaction((tx) => tx.copy('stores; drop table x', ['code'], ''))).rejects.toThrow(
      /not a plain SQL identifier/,
    );
  });
});

describe('the data directory lock', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kizuna-lockfile-'));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('names the holder, refuses a second holder, and is free again after release', () => {
    const release = lockDataDir(dir, 'kizuna serve');
    expect(() => lockDataDir(dir, 'kizuna import')).toThrow(
      new RegExp(`in use by process ${process.pid} on ${hostname()} \\(kizuna serve, since `),
    );
    release();
    lockDataDir(dir, 'kizuna import')();
  });

  it('takes over a lock whose process is gone', async () => {
    await writeFile(
      join(dir, LOCK_FILE),
      JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname(), command: 'x', startedAt: '' }),
    );
    lockDataDir(dir)();
  });

  it('does not take over a lock held by a live process on this host', async () => {
    await writeFile(
      join(dir, LOCK_FILE),
      JSON.stringify({ pid: process.ppid, host: hostname(), command: 'parent', startedAt: 'then' }),
    );
    expect(() => lockDataDir(dir)).toThrow(new RegExp(`in use by process ${process.ppid}`));
    await rm(join(dir, LOCK_FILE));
  });
});

describe.skipIf(process.env.DATABASE_URL)('embedded backups', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kizuna-backup-'));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('restores a backup into a new directory with the data intact, and refuses a non-empty one', async () => {
    const original = await openDatabase({ engine: 'pglite', dataDir: join(dir, 'a'), workMem: '16MB' });
    await migrateToLatest(original);
    await original.db.insertInto('stores').values({ code: 'S01', name: '渋谷店' }).execute();
    await original.backup(join(dir, 'backup.tar.gz'));
    await original.close();

    const restored = await restoreDatabase(
      { engine: 'pglite', dataDir: join(dir, 'b'), workMem: '16MB' },
      join(dir, 'backup.tar.gz'),
    );
    expect(await restored.db.selectFrom('stores').select(['code', 'name']).execute()).toEqual([
      { code: 'S01', name: '渋谷店' },
    ]);
    expect(await migrateToLatest(restored)).toEqual([]);
    await restored.close();

    await expect(
      restoreDatabase(
        { engine: 'pglite', dataDir: join(dir, 'a'), workMem: '16MB' },
        join(dir, 'backup.tar.gz'),
      ),
    ).rejects.toThrow(/is not empty/);
  });
});
