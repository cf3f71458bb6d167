/**
 * Analytics benchmark: simulated customers with orders and lines (bench/harness.ts) loaded into each
 * engine, then the full measures refresh, a year of monthly tier snapshots and the reports timed.
 *
 *   npm run bench:analytics -- --customers 100000 [--engines pglite,postgres]
 */
import { refreshMeasures, snapshotTiers } from '../src/analytics/measures/index.ts';
import { REPORTS } from '../src/analytics/report-registry.ts';
import {
  benchArgs,
  count,
  loadSimulatedShop,
  runEngine,
  runEngines,
  SIMULATION_END,
  timed,
} from './harness.ts';

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
      (r) => `${count(r.withPurchases)} buyers`,
    );
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
