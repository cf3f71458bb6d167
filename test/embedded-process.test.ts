import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lockDataDir, migrateToLatest, openDatabase } from '../src/db/index.ts';
import { kizuna, kizunaEnv } from './helpers/cli.ts';
import { createTestTarget, type TestTarget } from './helpers/database.ts';

/** Waits until the child writes a line matching `pattern` to stderr. */
function waitForLine(child: ChildProcess, pattern: RegExp, timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(
      () => reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms: ${buffer}`)),
      timeoutMs,
    );
    child.stderr!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const match = buffer.split('\n').find((l) => pattern.test(l));
      if (match) {
        clearTimeout(timer);
        resolve(match);
      }
    });
    child.on('exit', () => reject(new Error(`process exited before ${pattern}: ${buffer}`)));
  });
}

describe.skipIf(process.env.DATABASE_URL)('the embedded data directory', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kizuna-lock-'));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('refuses a second process with a clear "in use" message naming the holder, and the data stays intact', async () => {
    const database = await openDatabase({ engine: 'pglite', dataDir: dir, workMem: '16MB' });
    await migrateToLatest(database);
    await database.db.insertInto('stores').values({ code: 'S01', name: '本店' }).execute();
    const second = await kizuna(['db', 'status'], { KIZUNA_DATA_DIR: dir });
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(new RegExp(`in use by process ${process.pid} `));
    expect(() => lockDataDir(dir)).toThrow(/in use by process/);
    const stores = await database.db.selectFrom('stores').select('code').execute();
    expect(stores).toEqual([{ code: 'S01' }]);
    await database.close();
    const after = await kizuna(['db', 'status'], { KIZUNA_DATA_DIR: dir });
    expect(after.code).toBe(0);
    expect(after.stdout).toContain('001-customer-database');
  });
});

describe('a killed import', () => {
  let dir: string;
  let target: TestTarget;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kizuna-kill-'));
    target = await createTestTarget(join(dir, 'data'));
  });
  afterAll(async () => {
    await target.drop();
    await rm(dir, { recursive: true, force: true });
  });

  const countLines = async () => {
    const database = await openDatabase(target.config);
    try {
      return (await sql<{ n: number }>`select count(*)::int as n from order_lines`.execute(database.db))
        .rows[0]!.n;
    } finally {
      await database.close();
    }
  };

  it('keeps every committed batch, leaves no half batch, and a rerun completes it', async () => {
    const files = join(dir, 'files');
    await mkdir(files);
    await writeFile(join(files, 'products.csv'), 'sku,name,category,price\nP1,Pen,stationery,100\n');
    await writeFile(join(files, 'customers.csv'), 'external_id,name\nC1,佐藤\n');
    const lines = Array.from({ length: 60_000 }, (_, i) => `K${i},C1,2025-01-01T00:00:00Z,P1,1,100`);
    await writeFile(
      join(dir, 'orders.csv'),
      `order_id,customer_id,ordered_at,sku,quantity,unit_price\n${lines.join('\n')}\n`,
    );
    expect((await kizuna(['import', 'all', files], target.env)).code).toBe(0);

    const child = spawn(
      process.execPath,
      ['bin/kizuna.js', 'import', 'orders', join(dir, 'orders.csv'), '--batch-size', '2000', '--verbose'],
      { env: kizunaEnv(target.env), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    await waitForLine(child, /batch 3 committed/);
    child.kill('SIGKILL');
    await new Promise((resolve) => child.on('exit', resolve));

    const kept = await countLines();
    expect(kept).toBeGreaterThanOrEqual(6000);
    expect(kept).toBeLessThan(60_000);
    expect(kept % 2000).toBe(0);

    const rerun = await kizuna(
      ['import', 'orders', join(dir, 'orders.csv'), '--batch-size', '2000'],
      target.env,
    );
    expect(rerun.code).toBe(0);
    expect(rerun.stdout).toMatch(
      new RegExp(
        `orders\\s+orders.csv\\s+60,000\\s+${(60_000 - kept).toLocaleString('en-US')}\\s+0\\s+${kept.toLocaleString('en-US')}\\s+0`,
      ),
    );
    expect(await countLines()).toBe(60_000);
  });
});
