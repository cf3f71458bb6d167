/**
 * CLV benchmark: simulates customers whose purchases follow BG/NBD and whose spend follows Gamma-Gamma,
 * loads them (customers + orders, COPY) into each engine, then times every step of the CLV pipeline.
 *
 *   npm run bench:clv -- --customers 100000 [--engines pglite,postgres]
 *
 * Each engine runs in its own child process, so peak memory is per engine.
 */
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import {
  fitBgNbd,
  fitClv,
  fitGammaGamma,
  fitParetoNbd,
  groupRfm,
  groupSpend,
  predictClv,
  purchaseSummary,
} from '../src/analytics/clv/index.ts';
import { formatTable } from '../src/cli/output.ts';
import { copyText, migrateToLatest, openDatabase } from '../src/db/index.ts';
import { Rng } from '../src/demo/index.ts';
import { freshBenchDatabase } from './bench-database.ts';

type Step = { step: string; seconds: number; detail: string };

const { values } = parseArgs({
  options: {
    customers: { type: 'string', default: '100000' },
    engines: { type: 'string', default: 'pglite,postgres' },
    child: { type: 'string' },
  },
});

const END = Date.UTC(2026, 9, 31); // calibration end 2026-10-31
const WEEK = 7 * 86_400_000;

async function timed<T>(
  steps: Step[],
  step: string,
  work: () => Promise<T> | T,
  detail: (r: T) => string = () => '',
): Promise<T> {
  const started = performance.now();
  const result = await work();
  steps.push({ step, seconds: (performance.now() - started) / 1000, detail: detail(result) });
  process.stderr.write(`${step}: ${steps.at(-1)!.seconds.toFixed(2)} s ${steps.at(-1)!.detail}\n`);
  return result;
}

async function runChild(engine: string, customers: number): Promise<void> {
  const bench = await freshBenchDatabase(engine);
  const database = await openDatabase(bench.config);
  await migrateToLatest(database);
  const steps: Step[] = [];
  await timed(
    steps,
    'load (simulate + COPY)',
    async () => {
      await sql`insert into customers (external_id) select 'B' || g from generate_series(1, ${customers}) g`.execute(
        database.db,
      );
      // BG/NBD (r=0.4, α=4 per week, a=0.8, b=2.5) over 3 years before END; Gamma-Gamma (p=6, q=4, γ=2000).
      const rng = new Rng(42);
      let rows: string[] = [];
      let orders = 0;
      const flush = async () => {
        const text = rows.join('');
        rows = [];
        await database.transaction((tx) =>
          tx.copy('orders', ['customer_id', 'external_id', 'ordered_at', 'total'], text),
        );
      };
      for (let c = 1; c <= customers; c++) {
        const lambda = rng.gamma(0.4, 4);
        const p = rng.beta(0.8, 2.5);
        const nu = rng.gamma(4, 2000);
        const start = END - rng.uniform(0, 156) * WEEK;
        let t = start;
        let first = true;
        while (t <= END) {
          rows.push(`${c}\tB${c}-${orders++}\t${copyText(new Date(t))}\t${rng.gamma(6, nu).toFixed(2)}\n`);
          if (!first && rng.float() < p) break;
          first = false;
          t += rng.exponential(lambda) * WEEK;
        }
        if (rows.length >= 100_000) await flush();
      }
      await flush();
      return orders;
    },
    (n) => `${n.toLocaleString('en-US')} orders`,
  );
  const summary = await timed(
    steps,
    'summary (SQL)',
    () => purchaseSummary(database, { calibrationEnd: '2026-10-31', unit: 'days' }),
    (s) => `${s.customerIds.length.toLocaleString('en-US')} customers`,
  );
  const grouped = await timed(
    steps,
    'group (x, t_x, T)',
    () => groupRfm(summary.frequency, summary.recency, summary.T),
    (g) => `${g.weight.length.toLocaleString('en-US')} rows`,
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
    fitClv(database, { calibrationEnd: '2026-10-31', unit: 'days' }),
  );
  await timed(
    steps,
    'kizuna clv predict (values + store)',
    () => predictClv(database, { margin: 0.3 }),
    (p) => `equity ${Math.round(p.equity).toLocaleString('en-US')}`,
  );
  await database.close();
  await bench.drop();
  console.log(JSON.stringify({ engine, steps, peakRssMb: process.resourceUsage().maxRSS / 1024 }));
}

async function main(): Promise<void> {
  const customers = Number(values.customers);
  if (values.child) return runChild(values.child, customers);
  const rows: (string | number)[][] = [];
  for (const engine of values.engines!.split(',')) {
    const child = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'bench/clv.ts', '--child', engine, '--customers', String(customers)],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
        maxBuffer: 1 << 26,
      },
    );
    if (child.status !== 0) throw new Error(`${engine} run failed (exit ${child.status})`);
    const result = JSON.parse(child.stdout.toString().trim().split('\n').at(-1)!) as {
      engine: string;
      steps: Step[];
      peakRssMb: number;
    };
    for (const s of result.steps) rows.push([engine, s.step, s.seconds.toFixed(2), s.detail, '']);
    rows.push([engine, 'peak RSS', '', '', Math.round(result.peakRssMb)]);
  }
  console.log(
    `\nCLV pipeline on ${customers.toLocaleString('en-US')} simulated customers (time unit: days)\n`,
  );
  console.log(formatTable(['engine', 'step', 'seconds', 'detail', 'peak RSS MB'], rows));
}

await main();
