import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateToLatest, openDatabase } from '../src/db/index.ts';
import { kizuna } from './helpers/cli.ts';
import { createTestTarget, type TestTarget } from './helpers/database.ts';

/**
 * `kizuna campaign report` as a user runs it, on the hand-worked campaign of campaign-report-api.test.ts:
 * variant A 8 of 20 bought (40 %), holdout 2 of 20 (10 %), 500 each, 80 per mail.
 */
describe('kizuna campaign report', () => {
  let target: TestTarget;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kizuna-report-cli-'));
    target = await createTestTarget(join(dir, 'data'));
    const database = await openDatabase(target.config);
    await migrateToLatest(database);
    const db = database.db;
    await sql`insert into customers (id, name) select g, 'C' || g from generate_series(1, 40) g`.execute(db);
    await db
      .insertInto('products')
      .values({ id: 1, sku: 'X', name: 'X', category: 'c', price: '500' })
      .execute();
    const { id } = await db
      .insertInto('campaigns')
      .values({
        name: 'spring mailing',
        channel: 'email',
        created_by_name: 'test',
        goal_kind: 'any',
        goal_window_days: 14,
        send_started_at: new Date('2026-04-01T09:00:00Z'),
        status: 'sent',
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await db.insertInto('campaign_variants').values({ campaign_id: id, code: 'A', content: '{}' }).execute();
    await sql`insert into campaign_recipients (customer_id, campaign_id, variant, holdout, state, sent_at)
      select g, ${id}, case when g <= 20 then 'A' end, g > 20, case when g <= 20 then 'sent' else 'held_out' end,
             case when g <= 20 then timestamptz '2026-04-01T09:00:00Z' end
      from generate_series(1, 40) g`.execute(db);
    await sql`insert into touches (customer_id, channel, campaign, campaign_id, variant, cost, sent_at)
      select g, 'email', 'spring mailing', ${id}, 'A', 80, timestamptz '2026-04-01T09:00:00Z'
      from generate_series(1, 20) g`.execute(db);
    await sql`insert into orders (customer_id, id, external_id, ordered_at, total)
      select g, g, 'O' || g, timestamptz '2026-04-05T10:00:00Z', 500 from generate_series(1, 40) g
      where g <= 8 or g in (21, 22)`.execute(db);
    await sql`insert into order_lines (customer_id, order_id, line_no, product_id, quantity, unit_price, amount)
      select customer_id, id, 1, 1, 1, 500, 500 from orders`.execute(db);
    await database.close();
  }, 60_000);

  afterAll(async () => {
    await target.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('prints the table by campaign name, and JSON', async () => {
    const table = await kizuna(['campaign', 'report', 'spring mailing', '--as-of', '2026-06-30'], target.env);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^A\s+20\s+20\s+0\s+8\s+40\.00%/m);
    expect(table.stdout).toMatch(/^holdout\s+20\s+20\s+0\s+2\s+10\.00%/m);
    expect(table.stdout).toContain('+30.00 pt');
    expect(table.stdout).toContain('Goal window: closed');

    const json = await kizuna(['campaign', 'report', '1', '--as-of', '2026-06-30', '--json'], target.env);
    expect(json.code, json.stderr).toBe(0);
    const report = JSON.parse(json.stdout);
    expect(report.arms.map((a: { responders: number }) => a.responders)).toEqual([8, 2]);
    expect(report.arms[0].cost).toBe('1600.00');
  });

  it('refuses a bad attribution rule, a bad date and an unknown campaign', async () => {
    const rule = await kizuna(['campaign', 'report', '1', '--attribution', 'linear'], target.env);
    expect(rule.code).toBe(1);
    expect(rule.stderr).toContain('--attribution linear');
    const date = await kizuna(['campaign', 'report', '1', '--as-of', 'yesterday'], target.env);
    expect(date.code).toBe(1);
    expect(date.stderr).toContain('--as-of yesterday');
    const missing = await kizuna(['campaign', 'report', 'no such mailing'], target.env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('No campaign no such mailing');
  });
});
