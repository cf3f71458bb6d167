import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase } from '../../test/helpers/database.ts';
import { CLI_ACTOR } from '../auth/index.ts';
import type { Database } from '../db/index.ts';
import { memberIdsQuery, parseRules, RFM_GROUPS, withDatabaseFacts } from './index.ts';

const DAY = 86_400_000;
/** The recency points: the day numbers of 2026-01-01, 03-01, 05-01 and 06-01 (R 2, 3, 4, 5 from those days). */
const POINTS = ['2026-01-01', '2026-03-01', '2026-05-01', '2026-06-01'].map(
  (d) => Date.parse(`${d}T00:00:00Z`) / DAY,
);

/**
 * With the last refresh's recency points known, an RFM condition compares the last purchase with the
 * days they stand for instead of reading the view's computed rfm_cell / rfm_group (src/segments/conditions/
 * measure.ts). Both must select the same customers for every cell and group, right at each point's day
 * (from midnight UTC it is reached) and just before it.
 */
describe('RFM conditions on the last purchase equal the view', () => {
  let database: Database;
  const asOf = new Date('2026-06-30T23:59:59.999Z');
  beforeAll(async () => {
    database = await openTestDatabase();
    const db = database.db;
    // For each of the 125 cells two customers: one whose last purchase is the first instant of R's day,
    // one the last instant before the next R's day (R = 5: a week after its day).
    const rows: { id: number; last: Date; f: number; m: number }[] = [];
    for (let r = 1; r <= 5; r++)
      for (let f = 1; f <= 5; f++)
        for (let m = 1; m <= 5; m++) {
          const from = r === 1 ? POINTS[0]! * DAY - 30 * DAY : POINTS[r - 2]! * DAY;
          const until = r === 5 ? POINTS[3]! * DAY + 7 * DAY : POINTS[r - 1]! * DAY - 1000;
          rows.push({ id: rows.length + 1, last: new Date(from), f, m });
          rows.push({ id: rows.length + 1, last: new Date(until), f, m });
        }
    await sql`insert into customers (id, external_id) select g, 'C' || g from generate_series(1, ${rows.length}::int) g`.execute(
      db,
    );
    for (const row of rows) {
      await db
        .insertInto('customer_measures')
        .values({
          customer_id: row.id,
          as_of: '2026-06-30',
          first_purchase_at: row.last,
          last_purchase_at: row.last,
          orders_count: 1,
          purchase_days: 1,
          total_spend: '100.00',
          gross_margin: '0',
          returns_amount: '0',
          f_score: row.f,
          m_score: row.m,
        })
        .execute();
    }
    await db
      .insertInto('measures_refreshes')
      .values({
        as_of: '2026-06-30',
        mode: 'full',
        settings: '{}',
        customers: rows.length,
        recomputed: rows.length,
        seconds: 0,
        steps: '[]',
        recency_points: POINTS,
      })
      .execute();
  });
  afterAll(async () => database.close());

  const members = async (rule: Record<string, unknown>, known: boolean) => {
    const scope = { asOf, actor: CLI_ACTOR };
    const query = memberIdsQuery(parseRules(rule), known ? await withDatabaseFacts(database, scope) : scope);
    const { rows } = await query.execute(database.db);
    return rows.map((r) => r.id).sort((a, b) => a - b);
  };
  const fromView = async (column: 'rfm_cell' | 'rfm_group', value: string) => {
    const { rows } = await sql<{ id: number }>`
      select customer_id::int as id from customer_measures where ${sql.ref(column)} = ${value} order by 1`.execute(
      database.db,
    );
    return rows.map((r) => r.id);
  };

  it('knows the points from the last refresh', async () => {
    const facts = await withDatabaseFacts(database, { asOf, actor: CLI_ACTOR });
    expect(facts.recencyPoints).toEqual(POINTS);
  });

  it('for every group', async () => {
    let total = 0;
    for (const group of RFM_GROUPS) {
      const expected = await fromView('rfm_group', group);
      expect(expected.length, group).toBeGreaterThan(0);
      expect(await members({ kind: 'rfm', groups: [group] }, true), group).toEqual(expected);
      expect(await members({ kind: 'rfm', groups: [group] }, false), group).toEqual(expected);
      total += expected.length;
    }
    expect(total).toBe(250);
  });

  it('for every cell, and cells with groups', async () => {
    for (let code = 111; code <= 555; code++) {
      const cell = String(code);
      if (!/^[1-5]{3}$/.test(cell)) continue;
      const expected = await fromView('rfm_cell', cell);
      // Two customers per cell: at the first instant of R's day and the last before the next R's day.
      expect(expected.length, cell).toBe(2);
      expect(await members({ kind: 'rfm', cells: [cell] }, true), cell).toEqual(expected);
    }
    const both = { kind: 'rfm', cells: ['111', '545'], groups: ['new'] };
    const expected = [...(await fromView('rfm_cell', '111')), ...(await fromView('rfm_cell', '545'))]
      .concat(await fromView('rfm_group', 'new'))
      .sort((a, b) => a - b);
    expect(await members(both, true)).toEqual(expected);
    expect(await members(both, false)).toEqual(expected);
  });
});
