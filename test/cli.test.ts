import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kizuna } from './helpers/cli.ts';
import { createTestTarget, type TestTarget } from './helpers/database.ts';

const fixtures = join(import.meta.dirname, 'fixtures');

describe('the kizuna command', () => {
  let dir: string;
  let target: TestTarget;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kizuna-cli-'));
    target = await createTestTarget(join(dir, 'data'));
  });
  afterAll(async () => {
    await target.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('exits 0 for --help and 1 for a command it does not know', async () => {
    const help = await kizuna(['--help'], target.env);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('import [options] <kind> <file>');
    const unknown = await kizuna(['frobnicate'], target.env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("unknown command 'frobnicate'");
  });

  it('imports a directory, then finds nothing to change when it is imported again', async () => {
    const first = await kizuna(
      ['import', 'all', join(fixtures, 'shop'), '--timezone', 'Asia/Tokyo'],
      target.env,
    );
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/customers\s+customers\.csv\s+3\s+3\s+0\s+0\s+0/);
    const again = await kizuna(
      ['import', 'all', join(fixtures, 'shop'), '--timezone', 'Asia/Tokyo'],
      target.env,
    );
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('customers.csv: already imported — nothing changed');
    expect(again.stdout).toContain('orders.csv: already imported — nothing changed');
  });

  it('shows a customer timeline by external id and by e-mail', async () => {
    const byId = await kizuna(['customer', 'C001'], target.env);
    expect(byId.code).toBe(0);
    expect(byId.stdout).toContain('佐藤 花子');
    expect(byId.stdout).toContain('靴がきしむ');
    const byEmail = await kizuna(['customer', 'HANAKO@example.jp', '--json'], target.env);
    expect(JSON.parse(byEmail.stdout).customer.name).toBe('佐藤 花子');
    const missing = await kizuna(['customer', 'nobody@example.jp'], target.env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("no customer with id, external id or e-mail 'nobody@example.jp'");
  });

  it('exits 1 with a line-numbered report for bad rows, and writes the report file', async () => {
    const report = join(dir, 'bad-rows.csv');
    const result = await kizuna(
      ['import', 'orders', join(fixtures, 'bad', 'orders.csv'), '--errors', report],
      target.env,
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("orders.csv:2: ordered_at: '2025-13-01' is not a date-time");
    expect(result.stderr).toContain('orders.csv:3: quantity: must be at least 1, got -2');
    expect(result.stderr).toContain("orders.csv:4: customer_id: unknown customer 'NOPE'");
    const csv = await readFile(report, 'utf8');
    expect(csv.split('\n')[0]).toBe('file,line,field,value,reason');
    expect(csv).toContain(
      `orders.csv,6,unit_price,¥4800,"'¥4800' is not an amount (digits, optional '.' and 2 decimals)"`,
    );
  });

  it('exits 1 and writes nothing under --strict', async () => {
    const file = join(dir, 'orders.csv');
    await writeFile(
      file,
      'order_id,customer_id,ordered_at,sku,quantity,unit_price\nGOOD1,C002,2025-05-01,GLS-01,1,24000\nBAD1,C002,2025-05-01,GLS-01,0,24000\n',
    );
    const result = await kizuna(['import', 'orders', file, '--strict'], target.env);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('--strict and 1 bad rows — nothing was written');
    expect(result.stderr).toContain('orders.csv:3: quantity: must be at least 1, got 0');
    const timeline = await kizuna(['customer', 'C002', '--json'], target.env);
    const orders = JSON.parse(timeline.stdout).events.filter((e: { kind: string }) => e.kind === 'order');
    expect(orders.map((o: { external_id: string }) => o.external_id).sort()).toEqual(['B4', 'O2']);
  });

  it('exits 1 for a file with a wrong encoding or a missing column, naming file and line', async () => {
    const sjis = await kizuna(
      ['import', 'customers', join(fixtures, 'bad', 'sjis-customers.csv')],
      target.env,
    );
    expect(sjis.code).toBe(1);
    expect(sjis.stderr).toContain('sjis-customers.csv:2: the file is not UTF-8');
    const missing = await kizuna(
      ['import', 'orders', join(fixtures, 'bad', 'missing-column.csv')],
      target.env,
    );
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('missing-column.csv:1: missing column unit_price');
  });

  it('validates CLV from the command line, and exits 1 for an impossible date', async () => {
    const bad = await kizuna(['clv', 'validate', '--calibration-end', '2025-02-30'], target.env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("calibrationEnd: '2025-02-30' is not a date (YYYY-MM-DD)");
    const few = await kizuna(['clv', 'fit', '--calibration-end', '2025-12-31'], target.env);
    expect(few.code).toBe(1);
    expect(few.stderr).toContain('a CLV model needs purchase history from many customers');
  });

  it('exits 1 with a clear message when the database server cannot be reached', async () => {
    const result = await kizuna(['db', 'status'], { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/Cannot connect to PostgreSQL postgres:\/\/nobody@127\.0\.0\.1:1\/none/);
  });
});
