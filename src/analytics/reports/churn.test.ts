import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase } from '../../../test/helpers/database.ts';
import type { Database } from '../../db/index.ts';
import { loadDemo } from '../../demo/load-demo.ts';
import { importRecords, iterableSource } from '../../importer/index.ts';
import { churnReport, MIN_LAPSE_DAYS, SINGLE_PURCHASE_LAPSE_DAYS } from './churn.ts';

const DAY_MS = 86_400_000;
const dayNumber = (iso: string) => Date.parse(`${iso}T00:00:00Z`) / DAY_MS;

/**
 * The churn definition computed independently in TypeScript: for each complete month and each customer
 * with a purchase day before it, take the last such day p; N from the gaps between their purchase days up
 * to p only (max(90, ceil(2 × median)), 365 with no gap yet); active when p + N ≥ the month's first day;
 * churned when p + N falls within the month and the next purchase day (if any) is later.
 */
function expectedChurn(days: Map<number, number[]>, asOf: string, months: number) {
  const end = new Date(`${asOf}T00:00:00Z`);
  const firstOfNext = Date.UTC(
    end.getUTCFullYear(),
    end.getUTCMonth() +
      (end.getUTCDate() === new Date(Date.UTC(end.getUTCFullYear(), end.getUTCMonth() + 1, 0)).getUTCDate()
        ? 1
        : 0),
    1,
  );
  const result: { month: string; activeAtStart: number; churned: number }[] = [];
  for (let i = months; i >= 1; i--) {
    const startDate = new Date(firstOfNext);
    startDate.setUTCMonth(startDate.getUTCMonth() - i);
    const finishDate = new Date(startDate);
    finishDate.setUTCMonth(finishDate.getUTCMonth() + 1);
    const start = startDate.getTime() / DAY_MS;
    const finish = finishDate.getTime() / DAY_MS - 1;
    let active = 0;
    let churned = 0;
    for (const list of days.values()) {
      let j = -1;
      while (j + 1 < list.length && (list[j + 1] as number) < start) j++;
      if (j < 0) continue;
      const gaps = list
        .slice(1, j + 1)
        .map((d, k) => d - (list[k] as number))
        .sort((a, b) => a - b);
      let n = SINGLE_PURCHASE_LAPSE_DAYS;
      if (gaps.length > 0) {
        const mid = gaps.length >> 1;
        const twiceMedian =
          gaps.length % 2 ? 2 * (gaps[mid] as number) : (gaps[mid - 1] as number) + (gaps[mid] as number);
        n = Math.max(MIN_LAPSE_DAYS, twiceMedian);
      }
      const p = list[j] as number;
      const next = list[j + 1];
      if (p + n >= start) active++;
      if (p + n >= start && p + n <= finish && (next === undefined || next > p + n)) churned++;
    }
    result.push({ month: startDate.toISOString().slice(0, 7), activeAtStart: active, churned });
  }
  return result;
}

describe('churn: each customer’s own threshold as known at the time (no hindsight)', () => {
  let database: Database;
  beforeAll(async () => {
    database = await openTestDatabase();
  });
  afterAll(async () => database.close());

  it('judges a customer who later slows down by the rhythm they had then', async () => {
    // H buys every 30 days, then every ~150: 01-01, 01-31, 03-02, 07-30, 12-27 (2025).
    await importRecords(
      database,
      'products',
      iterableSource(
        'p',
        ['sku', 'name', 'category', 'price'],
        [{ sku: 'X', name: 'X', category: 'c', price: '100' }],
      ),
    );
    await importRecords(database, 'customers', iterableSource('c', ['external_id'], [{ external_id: 'H' }]));
    const lines = ['2025-01-01', '2025-01-31', '2025-03-02', '2025-07-30', '2025-12-27'].map((day, i) => ({
      order_id: `H${i}`,
      customer_id: 'H',
      ordered_at: `${day}T12:00:00Z`,
      sku: 'X',
      quantity: '1',
      unit_price: '100',
    }));
    const imported = await importRecords(
      database,
      'orders',
      iterableSource('o', Object.keys(lines[0]!), lines),
    );
    expect(imported.errors).toEqual([]);
    const report = await churnReport(database, { asOf: '2025-12-31', months: 12 });
    const rows = report.months.map((m) => [m.month, m.activeAtStart, m.churned]);
    // Known by 03-02: gaps 30, 30 → N = max(90, 60) = 90: lapses on 05-31 (next purchase 07-30): churned in
    // May, not active in June and July. Known by 07-30: gaps 30, 30, 150 → median 30 → N = 90: lapses on
    // 10-28 (next 12-27): churned in October. With hindsight (all gaps: median 90, N = 180) H would never
    // have churned in 2025.
    expect(rows).toEqual([
      ['2025-01', 0, 0],
      ['2025-02', 1, 0],
      ['2025-03', 1, 0],
      ['2025-04', 1, 0],
      ['2025-05', 1, 1],
      ['2025-06', 0, 0],
      ['2025-07', 0, 0],
      ['2025-08', 1, 0],
      ['2025-09', 1, 0],
      ['2025-10', 1, 1],
      ['2025-11', 0, 0],
      ['2025-12', 0, 0],
    ]);
    expect(report.definition).toContain('as known at the time');
  });

  describe('on the demo shop (800 customers)', () => {
    let demo: Database;
    const days = new Map<number, number[]>();
    beforeAll(async () => {
      demo = await openTestDatabase();
      await loadDemo(demo, { customers: 800, seed: 5 });
      const { rows } = await sql<{ customer_id: number; day: string }>`
        select distinct customer_id, (ordered_at at time zone 'UTC')::date::text as day from orders
        order by 1, 2`.execute(demo.db);
      for (const r of rows) {
        const list = days.get(r.customer_id) ?? [];
        list.push(dayNumber(r.day));
        days.set(r.customer_id, list);
      }
    }, 120_000);
    afterAll(async () => demo.close());

    it('matches a TypeScript recomputation month by month', async () => {
      for (const asOf of ['2026-06-30', '2026-10-31']) {
        const report = await churnReport(demo, { asOf, months: 12 });
        const cut = new Map([...days].map(([c, list]) => [c, list.filter((d) => d <= dayNumber(asOf))]));
        expect(
          report.months.map(({ month, activeAtStart, churned }) => ({ month, activeAtStart, churned })),
        ).toEqual(expectedChurn(cut, asOf, 12));
      }
    });

    it('gives a past month the same figures whatever the report date', async () => {
      const earlier = await churnReport(demo, { asOf: '2026-06-30', months: 12 });
      const later = await churnReport(demo, { asOf: '2026-10-31', months: 16 });
      const byMonth = new Map(later.months.map((m) => [m.month, m]));
      for (const m of earlier.months) expect(byMonth.get(m.month)).toEqual(m);
      expect(earlier.months.some((m) => m.churned > 0)).toBe(true);
    });
  });
});
