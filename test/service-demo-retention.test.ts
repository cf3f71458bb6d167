import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../src/db/index.ts';
import { SERVICE_RESPONSE_EFFECT } from '../src/demo/interactions.ts';
import { loadDemo } from '../src/demo/load-demo.ts';
import { DEFAULT_AS_OF } from '../src/demo/params.ts';
import { responseTimeRetention } from '../src/service/measures.ts';
import { openTestDatabase } from './helpers/database.ts';

/**
 * The demo plants slower first responses for customers who stop buying (SERVICE_RESPONSE_EFFECT: median
 * 12 h instead of 3 h on written tickets); the response-time ↔ retention report must recover the
 * direction: more churn and fewer repeat purchases in the slow buckets than in the fast one.
 */
describe('the response-time report on the demo retailer', () => {
  let database: Database;
  beforeAll(async () => {
    database = await openTestDatabase();
    await loadDemo(database, { customers: 3000, seed: 9 });
  }, 300_000);
  afterAll(async () => database?.close());

  it('finds the planted direction: slow answers, more churn', async () => {
    expect(SERVICE_RESPONSE_EFFECT.medianHoursWhenTheCustomerStops).toBeGreaterThan(
      SERVICE_RESPONSE_EFFECT.medianHoursWhenTheCustomerBuysAgain,
    );
    const report = await responseTimeRetention(database, {
      from: new Date(DEFAULT_AS_OF.getTime() - 3 * 365 * 86_400_000),
      to: DEFAULT_AS_OF,
      asOf: DEFAULT_AS_OF,
      churnDays: 180,
      channels: ['email', 'web', 'letter'],
    });
    const bucket = (label: string) => report.buckets.find((b) => b.bucket === label)!;
    const [fastest, fast, slower, slow] = ['<1h', '1-4h', '4-24h', '>=24h'].map(bucket) as [
      ReturnType<typeof bucket>,
      ReturnType<typeof bucket>,
      ReturnType<typeof bucket>,
      ReturnType<typeof bucket>,
    ];
    for (const b of [fastest, fast, slower, slow]) expect(b.churn.eligible).toBeGreaterThan(10);
    // Churn within 180 days rises with the wait; the slowest bucket's interval lies above the 1–4 h one's.
    expect(fast.churn.rate!).toBeLessThan(slower.churn.rate!);
    expect(slower.churn.rate!).toBeLessThan(slow.churn.rate!);
    expect(fastest.churn.rate!).toBeLessThan(slow.churn.rate!);
    expect(slow.churn.interval!.lower).toBeGreaterThan(fast.churn.interval!.upper);
    expect(slow.repeat[1]!.rate!).toBeLessThan(fast.repeat[1]!.rate!);
  }, 120_000);
});
