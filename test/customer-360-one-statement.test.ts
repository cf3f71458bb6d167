import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fitClv, predictClv } from '../src/analytics/clv/index.ts';
import { refreshMeasures } from '../src/analytics/measures/index.ts';
import { type Actor, CLI_ACTOR } from '../src/auth/index.ts';
import { getCustomer } from '../src/customers/customer-records.ts';
import {
  customer360,
  customerTimeline,
  eraseCustomer,
  listPreferenceNotes,
  type TimelineOptions,
} from '../src/customers/index.ts';
import type { Database } from '../src/db/index.ts';
import { loadDemo } from '../src/demo/load-demo.ts';
import { KizunaError } from '../src/errors.ts';
import { openTestDatabase } from './helpers/database.ts';
import { reference360, referenceRecord, referenceTimeline } from './reference/customer-360-reference.ts';

/**
 * The timeline and the 360 are each read in one statement, built as json in SQL. Here every customer of
 * the demo retailer (with measures and lifetime values computed, some events added that differ only in
 * microseconds, and an erased customer) is read both ways — that statement, and the straightforward
 * reading of test/reference (one query per kind or section, rows mapped in TypeScript) — under several
 * pagings, and the answers must be the same JSON text: same values, same key order, same event order.
 */

const TIMELINE_OPTIONS: TimelineOptions[] = [
  {},
  { limit: 1 },
  { limit: 3, kinds: ['order', 'return'] },
  { limit: 10, before: new Date('2025-06-01T00:00:00Z') },
  { limit: 7, kinds: ['touch', 'interaction', 'preference'] },
  { limit: 2, kinds: ['return'] },
  { limit: 4, before: new Date('2026-10-20T10:00:00.123Z') },
  { limit: 1000 },
];

const OWNER: Actor = CLI_ACTOR;
const MARKETER: Actor = { ...CLI_ACTOR, kind: 'token', name: 'marketing', role: 'marketer' };
const NOW = new Date('2026-11-15T00:00:00Z');

/**
 * Events that differ only in microseconds (they tie on the millisecond the API shows, so kind and id
 * decide), at the same millisecond across kinds, and exactly at a `before` bound; an open complaint.
 */
async function addMicrosecondEvents(database: Database, customerId: number): Promise<void> {
  const at = (micros: string) => `2026-10-20T10:00:00.${micros}Z`;
  await sql`
    insert into touches (customer_id, channel, campaign, cost, sent_at, opened_at)
    values (${customerId}, 'email', 'micro', 12.5, ${at('123456')}, ${at('999999')}),
           (${customerId}, 'sms', 'micro', 3, ${at('123999')}, null),
           (${customerId}, 'dm', null, 0, ${at('123000')}, null),
           (${customerId}, 'email', null, 0, ${at('122999')}, null)`.execute(database.db);
  await sql`
    insert into interactions (customer_id, kind, channel, status, subject, body, opened_at, resolved_at)
    values (${customerId}, 'complaint', 'phone', 'open', 'micro', 'It broke', ${at('123500')}, null),
           (${customerId}, 'request', 'email', 'resolved', null, 'Please call', ${at('123001')},
            ${'2026-11-01T08:00:00.000500Z'})`.execute(database.db);
  await sql`
    insert into preferences (customer_id, key, value, note, source, noted_at, obsolete_at)
    values (${customerId}, 'tea', 'green', null, 'staff', ${at('123100')}, null),
           (${customerId}, null, null, 'no longer true', 'customer', ${at('123100')}, ${at('500000')})`.execute(
    database.db,
  );
  const product = await database.db
    .selectFrom('products')
    .select('id')
    .orderBy('id')
    .executeTakeFirstOrThrow();
  await sql`
    insert into returns (customer_id, external_id, order_id, product_id, quantity, amount, returned_at, reason)
    values (${customerId}, ${`R-MICRO-${customerId}`}, null, ${product.id}, 1, 1234.5, ${at('123777')}, 'no order')`.execute(
    database.db,
  );
}

describe('the timeline and the 360 in one statement each', () => {
  let database: Database;
  let ids: number[];
  let erasedId: number;

  beforeAll(async () => {
    database = await openTestDatabase();
    await loadDemo(database, { customers: 300, seed: 11 });
    await refreshMeasures(database);
    await fitClv(database, { calibrationEnd: '2026-10-31' });
    await predictClv(database);
    ids = (await database.db.selectFrom('customers').select('id').orderBy('id').execute()).map((c) => c.id);
    await addMicrosecondEvents(database, ids[0]!);
    await addMicrosecondEvents(database, ids[1]!);
    erasedId = ids[2]!;
    await eraseCustomer(database, CLI_ACTOR, erasedId, 'asked to be forgotten');
  }, 300_000);
  afterAll(async () => {
    await database?.close();
  });

  it('reads every customer’s timeline as the per-kind reading does, under every paging', async () => {
    const differences: string[] = [];
    for (const id of ids) {
      for (const options of TIMELINE_OPTIONS) {
        const [actual, expected] = await Promise.all([
          customerTimeline(database, id, options),
          referenceTimeline(database, id, options),
        ]);
        if (JSON.stringify(actual) !== JSON.stringify(expected)) {
          differences.push(`customer ${id} ${JSON.stringify(options)}`);
        }
      }
    }
    expect(differences).toEqual([]);
    // The data exercises what it should: customers with more events than a page, and microsecond ties.
    const full = await customerTimeline(database, ids[0]!, {
      limit: 4,
      before: new Date('2026-10-20T10:00:00.124Z'),
    });
    expect(full.events.map((e) => `${e.at} ${e.kind}`)).toEqual([
      '2026-10-20T10:00:00.123Z return',
      '2026-10-20T10:00:00.123Z touch',
      '2026-10-20T10:00:00.123Z touch',
      '2026-10-20T10:00:00.123Z touch',
    ]);
    expect(full.has_more).toBe(true);
  }, 300_000);

  it('reads every customer’s record and notes as before', async () => {
    const differences: string[] = [];
    for (const id of ids) {
      const [record, expected, notes] = await Promise.all([
        getCustomer(database, id),
        referenceRecord(database, id),
        listPreferenceNotes(database, id, { includeObsolete: true }),
      ]);
      if (JSON.stringify(record) !== JSON.stringify(expected)) differences.push(`record ${id}`);
      const noteIds = notes.map((n) => n.id);
      const sorted = [...notes].sort(
        (a, b) => Date.parse(b.noted_at) - Date.parse(a.noted_at) || b.id - a.id,
      );
      if (JSON.stringify(noteIds) !== JSON.stringify(sorted.map((n) => n.id)))
        differences.push(`notes ${id}`);
    }
    expect(differences).toEqual([]);
  }, 300_000);

  it('builds every customer’s 360 as the per-section reading does, for a reader of complaints and one who may not', async () => {
    const differences: string[] = [];
    const pagings: TimelineOptions[] = [{ limit: 25 }, { limit: 3, kinds: ['interaction', 'preference'] }];
    for (const id of ids) {
      for (const actor of [OWNER, MARKETER]) {
        for (const timeline of pagings) {
          const [actual, expected] = await Promise.all([
            customer360(database, actor, id, { timeline, now: NOW }),
            reference360(database, actor, id, { timeline, now: NOW }),
          ]);
          if (JSON.stringify(actual) !== JSON.stringify(expected)) {
            differences.push(`customer ${id} as ${actor.role} ${JSON.stringify(timeline)}`);
          }
        }
      }
    }
    expect(differences).toEqual([]);
    // The demo has what the comparison needs: measures, lifetime values, follow-ups, an erased customer.
    const sample = await Promise.all(
      ids.slice(0, 50).map((id) => customer360(database, OWNER, id, { now: NOW })),
    );
    expect(sample.some((c) => c.measures.computed && c.lifetime_value !== null)).toBe(true);
    expect(sample.some((c) => c.follow_ups.length > 0 && c.open_interactions.length > 0)).toBe(true);
    expect(sample.some((c) => c.purchases.favourite_categories.length > 1)).toBe(true);
    expect(sample.find((c) => c.customer.id === erasedId)?.customer.erased).toBe(true);
  }, 300_000);

  it('answers 404 for a customer that does not exist, in both readers', async () => {
    await expect(referenceTimeline(database, 987_654, {})).resolves.toBeNull();
    for (const read of [
      () => customerTimeline(database, 987_654),
      () => customer360(database, OWNER, 987_654),
    ]) {
      const error = await read().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(KizunaError);
      expect((error as KizunaError).code).toBe('customer_not_found');
    }
  });
});
