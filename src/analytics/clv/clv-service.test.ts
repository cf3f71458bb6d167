import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenHeaders } from '../../../test/helpers/api.ts';
import { openTestDatabase } from '../../../test/helpers/database.ts';
import { buildServer } from '../../api/index.ts';
import type { Database } from '../../db/index.ts';
import { cdnowRows } from '../../demo/cdnow.ts';
import { loadRows } from '../../demo/load-demo.ts';
import { customerClv, customerEquity, fitClv, predictClv, validateClv } from './index.ts';

/** The CDNOW sample loaded through the importer, then the CLV pipeline end to end on the database. */
describe('CLV on the CDNOW sample in the database', () => {
  let database: Database;
  beforeAll(async () => {
    database = await openTestDatabase();
    const rows = cdnowRows('sample');
    await loadRows(database, (kind) => rows[kind]);
  });
  afterAll(async () => database.close());

  it('validates BG/NBD on the published split: the paper’s parameters, and the holdout predicted per frequency', async () => {
    const v = await validateClv(database, { calibrationEnd: '1997-09-30', holdoutEnd: '1998-06-30' });
    // Fader, Hardie & Lee (2005), Marketing Science 24(2), Table 1: r=0.243, α=4.414, a=0.793, b=2.426, LL −9582.4.
    expect(v.customers).toBe(2357);
    expect(v.params.r).toBeCloseTo(0.2426, 3);
    expect(v.params.alpha).toBeCloseTo(4.414, 2);
    expect(v.params.a).toBeCloseTo(0.793, 2);
    expect(v.params.b).toBeCloseTo(2.426, 2);
    expect(v.report.logLikelihood).toBeCloseTo(-9582.4, 0);
    expect(v.byPeriod).toHaveLength(39);
    // The holdout total: counted independently here from the rows of the sample file.
    const calibrationEnd = 19970930;
    const firstDay = new Map<string, number>();
    const holdoutDays = new Set<string>();
    for (const o of cdnowRows('sample').orders!) {
      const day = Number(o.ordered_at!.slice(0, 10).replaceAll('-', ''));
      const first = firstDay.get(o.customer_id!);
      if (first === undefined || day < first) firstDay.set(o.customer_id!, day);
      if (day > calibrationEnd) holdoutDays.add(`${o.customer_id}|${day}`);
    }
    expect(v.totals.actual).toBe(holdoutDays.size);
    expect(v.byPeriod.at(-1)!.actualCumulative).toBe(holdoutDays.size);
    // The model tracks the holdout within 15 % in total (measured: −12 %), and the per-frequency means rise with frequency.
    expect(Math.abs(v.totals.predicted - v.totals.actual) / v.totals.actual).toBeLessThan(0.15);
    const means = v.byFrequency.map((b) => b.predictedMean);
    expect([...means].sort((a, b) => a - b)).toEqual(means);
  });

  it('fits, stores and predicts: every customer valued, equity is the sum, and the API serves it', async () => {
    const fitted = await fitClv(database, { calibrationEnd: '1998-06-30' });
    expect(fitted.customers).toBe(2357);
    expect(fitted.purchaseReport.converged).toBe(true);
    expect(fitted.spendParams).not.toBeNull();
    const prediction = await predictClv(database, { margin: 0.3 });
    expect(prediction.customers).toBe(2357);
    const equity = await customerEquity(database);
    expect(equity.customers).toBe(2357);
    expect(Number(equity.equity)).toBeCloseTo(prediction.equity, 1);
    expect([equity.previous, equity.change]).toEqual([null, null]);
    // A valuation "last month": the change is now minus then.
    await database.db
      .updateTable('clv_equity_history')
      .set({ computed_at: new Date(Date.now() - 40 * 86_400_000) })
      .execute();
    const again = await predictClv(database, { margin: 0.45 });
    const withHistory = await customerEquity(database);
    expect(withHistory.previous!.equity).toBe(equity.equity);
    expect(Number(withHistory.change)).toBeCloseTo(again.equity - prediction.equity, 1);

    await predictClv(database, { margin: 0.3 });
    const one = await customerClv(database, 1);
    expect(one).not.toBeNull();
    expect(one!.probability_alive).toBeGreaterThanOrEqual(0);
    expect(one!.probability_alive).toBeLessThanOrEqual(1);
    // CLV = margin × spend × discounted expected purchases ≤ margin × spend × expected purchases in a year.
    expect(Number(one!.clv)).toBeLessThanOrEqual(
      0.3 * Number(one!.expected_spend) * one!.expected_purchases_next_year + 0.01,
    );

    const app = buildServer(database);

    const headers = await tokenHeaders(database, 'owner');
    const model = await app.inject({ headers, method: 'GET', url: '/api/clv/model' });
    expect(model.statusCode).toBe(200);
    expect(model.json().purchase_model).toBe('bgnbd');
    const customer = await app.inject({ headers, method: 'GET', url: '/api/customers/1/clv' });
    expect(customer.statusCode).toBe(200);
    expect(customer.json().customerId).toBe(1);
    const bad = await app.inject({
      headers,
      method: 'GET',
      url: '/api/clv/validation?calibrationEnd=1997-13-01',
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.field).toBe('calibrationEnd');
    await app.close();
  });

  it('refuses to fit without enough history, with a clear error', async () => {
    await expect(fitClv(database, { calibrationEnd: '1996-01-01' })).rejects.toMatchObject({
      code: 'too_little_history',
    });
  });
});
