import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../src/api/index.ts';
import type { Database } from '../src/db/index.ts';
import { loadDemo } from '../src/demo/load-demo.ts';
import { tokenHeaders } from './helpers/api.ts';
import { openTestDatabase } from './helpers/database.ts';

describe('analytics over HTTP', () => {
  let database: Database;
  beforeAll(async () => {
    database = await openTestDatabase();
    await loadDemo(database, { customers: 500, seed: 5 });
  });
  afterAll(async () => database.close());

  it('refreshes the measures and snapshots, then serves the reports as JSON', async () => {
    const app = buildServer(database);
    const headers = await tokenHeaders(database, 'owner');
    const refresh = await app.inject({
      headers,
      method: 'POST',
      url: '/api/analytics/refresh',
      payload: { asOf: '2026-10-31', snapshotsFrom: '2026-08-01' },
    });
    expect(refresh.statusCode).toBe(200);
    expect(refresh.json()).toMatchObject({ asOf: '2026-10-31', customers: 500 });
    expect(refresh.json().snapshots.periods.map((p: { periodEnd: string }) => p.periodEnd)).toEqual([
      '2026-08-31',
      '2026-09-30',
      '2026-10-31',
    ]);

    const rfm = (await app.inject({ headers, method: 'GET', url: '/api/reports/rfm' })).json();
    expect(rfm.customers).toBe(500);
    const groupTotal = rfm.groups.reduce((sum: number, g: { customers: number }) => sum + g.customers, 0);
    expect(groupTotal).toBe(rfm.customers);

    const transitions = await app.inject({
      headers,
      method: 'GET',
      url: '/api/reports/transitions?from=2026-09-30&to=2026-10-31',
    });
    expect(transitions.statusCode).toBe(200);
    const moved = transitions
      .json()
      .transitions.reduce((sum: number, t: { customers: number }) => sum + t.customers, 0);
    expect(moved).toBeGreaterThan(0);

    const pareto = (await app.inject({ headers, method: 'GET', url: '/api/reports/pareto' })).json();
    expect(pareto.customers).toBe(500);
    expect(pareto.topShares.top20).toBeGreaterThan(0.2);
    const drivers = await app.inject({
      headers,
      method: 'GET',
      url: '/api/reports/repeat-drivers?to=2026-10-31',
    });
    expect(drivers.json().categories.some((c: { category: string }) => c.category === 'contact_lenses')).toBe(
      true,
    );

    const missing = await app.inject({ headers, method: 'GET', url: '/api/reports/transitions' });
    expect([missing.statusCode, missing.json().error.field]).toEqual([400, 'from']);
    // A parameter the reports do not take is refused by name, not silently ignored.
    const misnamed = await app.inject({
      headers,
      method: 'GET',
      url: '/api/reports/repeat-drivers?asOf=2026-10-31',
    });
    expect([misnamed.statusCode, misnamed.json().error.field]).toEqual([400, 'asOf']);
    expect(misnamed.json().error.message).toMatch(/asOf/);
    const unknown = await app.inject({ headers, method: 'GET', url: '/api/reports/nope' });
    expect([unknown.statusCode, unknown.json().error.code]).toEqual([404, 'unknown_report']);
    const bad = await app.inject({
      headers,
      method: 'POST',
      url: '/api/analytics/refresh',
      payload: { asOf: '31/10/2026' },
    });
    expect([bad.statusCode, bad.json().error.field]).toEqual([400, 'asOf']);
    // The month's cut points computed afresh on request (the refresh above fixed October's).
    const recut = await app.inject({
      headers,
      method: 'POST',
      url: '/api/analytics/refresh',
      payload: { asOf: '2026-10-31', recut: true },
    });
    expect([recut.statusCode, recut.json().mode]).toEqual([200, 'incremental']);
    expect(recut.json().steps.map((s: { step: string }) => s.step)).toContain('moved by the cut points');
    const recutNotBoolean = await app.inject({
      headers,
      method: 'POST',
      url: '/api/analytics/refresh',
      payload: { recut: 'yes' },
    });
    expect([recutNotBoolean.statusCode, recutNotBoolean.json().error.field]).toEqual([400, 'recut']);
    await app.close();
  });
});
