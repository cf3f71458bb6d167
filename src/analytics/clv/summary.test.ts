import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase } from '../../../test/helpers/database.ts';
import type { Database } from '../../db/index.ts';
import { importRecords, iterableSource } from '../../importer/index.ts';
import { purchaseSummary } from './summary.ts';

describe('the CLV purchase summary', () => {
  let database: Database;
  beforeAll(async () => {
    database = await openTestDatabase();
    await importRecords(
      database,
      'products',
      iterableSource(
        'p',
        ['sku', 'name', 'category', 'price'],
        [{ sku: 'X', name: 'X', category: 'c', price: '10' }],
      ),
    );
    await importRecords(
      database,
      'customers',
      iterableSource(
        'c',
        ['external_id'],
        ['A', 'B', 'C', 'D'].map((external_id) => ({ external_id })),
      ),
    );
    // A: first 2025-01-01, two orders on 01-08 (one occasion worth 30+20), one on 01-15, one in the holdout.
    // B: one purchase only. C: first purchase after the calibration end. D: none.
    const orders = [
      ['A1', 'A', '2025-01-01T10:00:00Z', '5'],
      ['A2', 'A', '2025-01-08T09:00:00Z', '3'],
      ['A3', 'A', '2025-01-08T18:00:00Z', '2'],
      ['A4', 'A', '2025-01-15T12:00:00Z', '1'],
      ['A5', 'A', '2025-02-10T12:00:00Z', '1'],
      ['A6', 'A', '2025-02-11T12:00:00Z', '1'],
      ['B1', 'B', '2025-01-29T12:00:00Z', '4'],
      ['C1', 'C', '2025-02-05T12:00:00Z', '1'],
    ].map(([order_id, customer_id, ordered_at, quantity]) => ({
      order_id: order_id!,
      customer_id: customer_id!,
      ordered_at: ordered_at!,
      quantity: quantity!,
      sku: 'X',
      unit_price: '10',
    }));
    await importRecords(database, 'orders', iterableSource('o', Object.keys(orders[0]!), orders));
  });
  afterAll(async () => database.close());

  it('counts repeat purchase days, recency and age in weeks, and the mean repeat value (hand-worked)', async () => {
    const s = await purchaseSummary(database, { calibrationEnd: '2025-01-29', holdoutEnd: '2025-02-28' });
    expect(s.customerIds.length).toBe(2);
    // A: occasions 01-01, 01-08, 01-15 → frequency 2, recency 14 days = 2 weeks, T = 28 days = 4 weeks,
    // repeat values 50 and 10 → mean 30; holdout: 02-10 and 02-11 → 2.
    expect([s.frequency[0], s.recency[0], s.T[0], s.meanValue[0], s.holdoutPurchases![0]]).toEqual([
      2, 2, 4, 30, 2,
    ]);
    // B: a single purchase on the last calibration day.
    expect([s.frequency[1], s.recency[1], s.T[1], s.meanValue[1], s.holdoutPurchases![1]]).toEqual([
      0, 0, 0, 0, 0,
    ]);
  });

  it('measures in days when asked, and reads days in the business time zone', async () => {
    const s = await purchaseSummary(database, {
      calibrationEnd: '2025-01-29',
      unit: 'days',
      timeZone: 'Asia/Tokyo',
    });
    // In Tokyo A3 (18:00Z) falls on 01-09, making a separate occasion: 01-01, 01-08, 01-09, 01-15.
    expect([s.frequency[0], s.recency[0], s.T[0]]).toEqual([3, 14, 28]);
    expect(s.meanValue[0]).toBeCloseTo((30 + 20 + 10) / 3, 10);
    expect(s.holdoutPurchases).toBeUndefined();
  });
});
