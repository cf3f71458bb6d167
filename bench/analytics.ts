/**
 * Analytics benchmark: simulated customers with orders and lines (bench/harness.ts) loaded into each
 * engine, then the full measures refresh (as of a month's last day), the incremental refreshes after a
 * day of new orders by 1 % of the customers — the as-of day moving on into a new month (whose first
 * refresh fixes the month's cut points), then on by one more day, then once more on the same day —, a
 * year of monthly tier snapshots and the reports timed.
 *
 *   npm run bench:analytics -- --customers 100000 [--engines pglite,postgres]
 *   BENCH_REFRESH_ONLY=1 npm run bench:analytics -- …   (the refreshes only: no snapshots, no reports)
 */
import { sql } from 'kysely';
import { type RefreshResult, refreshMeasures, snapshotTiers } from '../src/analytics/measures/index.ts';
import { REPORTS } from '../src/analytics/report-registry.ts';
import type { Database } from '../src/db/index.ts';
import {
  benchArgs,
  count,
  loadSimulatedShop,
  runEngine,
  runEngines,
  SIMULATION_END,
  timed,
} from './harness.ts';

/**
 * A day of business: one order (with one line) on `day` for every customer whose id ≡ k (mod 100),
 * 1 % of them, written like an import would (plain inserts: the measures triggers see them).
 */
async function aDayOfOrders(database: Database, day: string, k: number): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    with o as (
      insert into orders (customer_id, external_id, ordered_at, total)
      select c.id, 'D' || ${day} || '-' || c.id, ${day}::date + interval '9 hours' + (c.id % 600) * interval '1 minute',
             1000 + (c.id % 97) * 10
      from customers c where c.id % 100 = ${k}
      returning customer_id, id, total
    ), l as (
      insert into order_lines (customer_id, order_id, line_no, product_id, quantity, unit_price, amount)
      select customer_id, id, 1, 1 + id % 200, 1, total, total from o
      returning 1
    )
    select count(*)::int as n from l`.execute(database.db);
  return rows[0]?.n ?? 0;
}

const describeRefresh = (r: RefreshResult) =>
  `${r.mode}, ${count(r.recomputed)} recomputed, ${count(r.written.updated + r.written.inserted)} rows written; ` +
  r.steps.map((s) => `${s.step} ${s.seconds.toFixed(2)}`).join(', ');

const { customers, engines, child } = benchArgs();

if (child) {
  await runEngine(child, async (database, steps) => {
    await timed(
      steps,
      'load (simulate + COPY)',
      () => loadSimulatedShop(database, customers, { lines: true }),
      (o) => `${count(o)} orders`,
    );
    await timed(
      steps,
      'full refresh (measures, RFM, tiers)',
      () => refreshMeasures(database, { asOf: SIMULATION_END }),
      (r) => `${count(r.withPurchases)} buyers; ${describeRefresh(r)}`,
    );
    const dayAfter = (day: string) =>
      new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
    const monthStart = dayAfter(SIMULATION_END);
    await timed(
      steps,
      'a day of orders, 1 % of customers',
      () => aDayOfOrders(database, monthStart, 7),
      (n) => `${count(n)} orders`,
    );
    await timed(
      steps,
      "incremental refresh, a new month's first day",
      () => refreshMeasures(database, { asOf: monthStart }),
      describeRefresh,
    );
    const nextDay = dayAfter(monthStart);
    await timed(steps, 'a day of orders, 1 % of customers', () => aDayOfOrders(database, nextDay, 31));
    await timed(
      steps,
      'incremental refresh, as-of + 1 day',
      () => refreshMeasures(database, { asOf: nextDay }),
      describeRefresh,
    );
    await timed(steps, 'another 1 % of customers, same day', () => aDayOfOrders(database, nextDay, 53));
    await timed(
      steps,
      'incremental refresh, same as-of',
      () => refreshMeasures(database, { asOf: nextDay }),
      describeRefresh,
    );
    if (process.env.BENCH_REFRESH_ONLY) return;
    await timed(steps, 'tier snapshots, 12 month ends', () =>
      snapshotTiers(database, { from: '2025-11-01', to: SIMULATION_END }),
    );
    for (const [name, report] of Object.entries(REPORTS)) {
      await timed(steps, `report ${name}`, () =>
        report.run(database, { from: '2026-09-30', to: SIMULATION_END }),
      );
    }
  });
} else {
  runEngines(
    'bench/analytics.ts',
    engines,
    ['--customers', String(customers)],
    `Analytics on ${count(customers)} simulated customers`,
  );
}
