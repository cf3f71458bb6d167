import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFlowWorker } from '../src/cli/flow-command.ts';
import type { Database } from '../src/db/index.ts';
import { openTestDatabase } from './helpers/database.ts';

/**
 * The worker process of `kizuna serve --flows` does more than flows: each poll it also escalates breached
 * SLA clocks (no cron needed). An urgent complaint opened a week ago without a reply has broken both its
 * first-response clock (60 business minutes under the seeded policies) and its resolution clock (540),
 * whatever the calendar: a week holds at least five business days of 9 hours.
 */
let database: Database;

beforeAll(async () => {
  database = await openTestDatabase();
  const db = database.db;
  await db.insertInto('stores').values({ id: 1, code: 'S1', name: 'Store 1' }).execute();
  await db
    .insertInto('staff')
    .values({ id: 1, code: 'm1', name: 'Mika Manager', role: 'manager', store_id: 1 })
    .execute();
  await db.insertInto('customers').values({ id: 1, name: 'Customer 1', home_store_id: 1 }).execute();
  await db
    .insertInto('interactions')
    .values({
      customer_id: 1,
      kind: 'complaint',
      channel: 'email',
      subject: 'Broken frame',
      status: 'open',
      priority: 'urgent',
      store_id: 1,
      opened_at: new Date(Date.now() - 7 * 86_400_000),
    })
    .execute();
});

afterAll(async () => {
  await database.close();
});

describe('the worker of kizuna serve --flows', () => {
  it('escalates breached SLA clocks by itself', async () => {
    const lines: string[] = [];
    const worker = startFlowWorker(database, (line) => lines.push(line));
    try {
      const deadline = Date.now() + 20_000;
      while (!lines.some((l) => l.startsWith('service:')) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      await worker.stop();
    }
    expect(lines.filter((l) => l.startsWith('service:'))).toEqual([
      'service: 2 breached SLA clock(s) escalated',
    ]);
    const escalations = await database.db
      .selectFrom('sla_escalations')
      .select(['clock', 'notified_staff_id'])
      .orderBy('clock')
      .execute();
    expect(escalations).toEqual([
      { clock: 'first_response', notified_staff_id: 1 },
      { clock: 'resolution', notified_staff_id: 1 },
    ]);
  });
});
