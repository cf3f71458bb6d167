import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/db/index.ts';
import { kizunaEnv } from './helpers/cli.ts';
import { createTestTarget, type TestTarget } from './helpers/database.ts';

/**
 * `npm start` is `kizuna serve --demo-if-empty`: on an empty database it loads the demo retailer and
 * measures it before it listens, so the first page already has tiers, snapshots and lifetime values.
 * Run as a user runs it (bin/kizuna.js), on a small demo, then stopped with SIGTERM.
 */
const dir = mkdtempSync(join(tmpdir(), 'kizuna-serve-'));
let target: TestTarget;

afterAll(async () => {
  await target?.drop();
  rmSync(dir, { recursive: true, force: true });
});

function waitForLine(child: ChildProcess, pattern: RegExp, output: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) {
        output.push(line);
        if (pattern.test(line)) resolve(line);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (c: Buffer) => output.push(c.toString()));
    child.on('exit', (code) => reject(new Error(`serve exited (${code}):\n${output.join('\n')}`)));
  });
}

describe('kizuna serve --demo-if-empty', () => {
  it('loads and measures the demo on an empty database, then serves it', async () => {
    target = await createTestTarget(join(dir, 'data'));
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const child = spawn(
      process.execPath,
      [
        join(import.meta.dirname, '../bin/kizuna.js'),
        'serve',
        '--demo-if-empty',
        '--demo-customers',
        '300',
        '--port',
        String(port),
      ],
      {
        env: kizunaEnv({
          ...target.env,
          KIZUNA_ADMIN_PASSWORD: 'a long demo password',
          SMTP_URL: 'smtp://127.0.0.1:1',
        }),
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const output: string[] = [];
    try {
      await waitForLine(child, /Kizuna is listening on/, output);
      expect(output.join('\n')).toMatch(
        /measures for 300 customers as of \d{4}-\d{2}-\d{2}; customer equity \d/,
      );
      const health = await fetch(`http://127.0.0.1:${port}/health`);
      expect(health.status).toBe(200);
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    const database = await openDatabase(target.config);
    try {
      const { rows } = await sql<Record<'customers' | 'measured' | 'snapshots' | 'valued', number>>`
        select (select count(*) from customers)::int as customers,
               (select count(*) from customer_measures)::int as measured,
               (select count(distinct period_end) from tier_snapshots)::int as snapshots,
               (select count(*) from customer_clv)::int as valued`.execute(database.db);
      const counts = rows[0]!;
      expect(Number(counts.customers)).toBe(300);
      expect(Number(counts.measured)).toBe(300);
      // Month ends of the year before the demo's last day (12 or 13, as the day falls).
      expect(Number(counts.snapshots)).toBeGreaterThanOrEqual(12);
      expect(Number(counts.valued)).toBeGreaterThan(0);
    } finally {
      await database.close();
    }
  });
});
