/**
 * CLV benchmark: simulated BG/NBD customers (bench/harness.ts) loaded into each engine, then every step
 * of the CLV pipeline timed.
 *
 *   npm run bench:clv -- --customers 100000 [--engines pglite,postgres]
 */
import {
  fitBgNbd,
  fitClv,
  fitData,
  fitGammaGamma,
  fitParetoNbd,
  groupSpend,
  predictClv,
  purchaseSummary,
} from '../src/analytics/clv/index.ts';
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
      () => loadSimulatedShop(database, customers, { lines: false }),
      (o) => `${count(o)} orders`,
    );
    const summary = await timed(
      steps,
      'summary (SQL)',
      () => purchaseSummary(database, { calibrationEnd: SIMULATION_END, unit: 'days' }),
      (s) => `${count(s.customerIds.length)} customers`,
    );
    const grouped = await timed(
      steps,
      'group (x, t_x, T)',
      () => fitData(summary),
      (g) => `${count(g.weight.length)} rows`,
    );
    await timed(
      steps,
      'fit BG/NBD',
      () => fitBgNbd(grouped),
      (f) => `${f.report.iterations} iterations`,
    );
    await timed(
      steps,
      'fit Pareto/NBD',
      () => fitParetoNbd(grouped),
      (f) => `${f.report.iterations} iterations`,
    );
    await timed(
      steps,
      'fit Gamma-Gamma',
      () => {
        const x: number[] = [];
        const m: number[] = [];
        summary.frequency.forEach((f, i) => {
          if (f > 0) {
            x.push(f);
            m.push(summary.meanValue[i]!);
          }
        });
        return fitGammaGamma(groupSpend(x, m));
      },
      (f) => `${f.report.iterations} iterations`,
    );
    await timed(steps, 'kizuna clv fit (summary + fits + store)', () =>
      fitClv(database, { calibrationEnd: SIMULATION_END, unit: 'days' }),
    );
    await timed(
      steps,
      'kizuna clv predict (values + store)',
      () => predictClv(database, { margin: 0.3 }),
      (p) => `equity ${count(Math.round(p.equity))}`,
    );
  });
} else {
  runEngines(
    'bench/clv.ts',
    engines,
    ['--customers', String(customers)],
    `CLV pipeline on ${count(customers)} simulated customers (time unit: days)`,
  );
}
