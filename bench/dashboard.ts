/**
 * Dashboard benchmark: GET /api/dashboard (every dashboard figure in one call) at 100,000 customers,
 * through the real server (Fastify inject: routing, auth, JSON), on each engine. Each engine: a fresh
 * database with the simulated shop of bench/harness.ts (BG/NBD purchases over 3 years, loaded with COPY;
 * 10 stores as home stores and order stores), a measures refresh with month-end tier snapshots for the 13
 * months before its end, and a lifetime value per customer with an equity history; with `--demo`, the
 * demo retailer loaded through the importer instead (much slower to load) and a real CLV fit.
 * Then, whole shop and one store: the first call (computed), `--calls` calls served again (the data
 * unchanged), and `--calls` computed calls (`fresh=true`).
 *
 *   npm run bench:dashboard -- [--customers 100000] [--engines pglite,postgres] [--calls 20] [--demo]
 *   npm run bench:dashboard -- --database-url postgres://…/kizuna_perf   (an already loaded database)
 *
 * Prints one table: ms per call (first, p50, p95, max) and the process's peak memory. Goal: ≤ 500 ms.
 */
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import { fitClv, predictClv } from '../src/analytics/clv/index.ts';
import { refreshMeasures, snapshotTiers } from '../src/analytics/measures/index.ts';
import { buildServer } from '../src/api/index.ts';
import { createApiToken } from '../src/auth/index.ts';
import { formatTable } from '../src/cli/output.ts';
import { type Database, migrateToLatest, openDatabase } from '../src/db/index.ts';
import { DEFAULT_AS_OF } from '../src/demo/index.ts';
import { loadDemo } from '../src/demo/load-demo.ts';
import { freshBenchDatabase } from './bench-database.ts';
import { loadSimulatedShop, SIMULATION_END } from './harness.ts';

const { values } = parseArgs({
  options: {
    customers: { type: 'string', default: '100000' },
    engines: { type: 'string', default: 'pglite,postgres' },
    calls: { type: 'string', default: '20' },
    'database-url': { type: 'string' },
    demo: { type: 'boolean', default: false },
    child: { type: 'string' },
  },
});
const customers = Number(values.customers);
const calls = Number(values.calls);
const DEMO_AS_OF = DEFAULT_AS_OF.toISOString().slice(0, 10);

type Timing = { call: string; first: number; times: number[] };
type Result = {
  engine: string;
  setup: { step: string; seconds: number }[];
  timings: Timing[];
  peakRssMb: number;
};

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;

async function setUp(database: Database, setup: Result['setup']): Promise<string> {
  const step = async (name: string, work: () => Promise<unknown>) => {
    const started = performance.now();
    await work();
    setup.push({ step: name, seconds: (performance.now() - started) / 1000 });
    process.stderr.write(`${name}: ${setup.at(-1)!.seconds.toFixed(1)} s\n`);
  };
  const asOf = values.demo ? DEMO_AS_OF : SIMULATION_END;
  const db = database.db;
  if (values.demo) {
    await step('load demo (importer)', () => loadDemo(database, { customers, seed: 1 }));
  } else {
    await step('load simulated shop (COPY)', async () => {
      await loadSimulatedShop(database, customers, { lines: false });
      await sql`insert into stores (code, name) select 'S' || g, 'Store ' || g from generate_series(1, 10) g`.execute(
        db,
      );
      await sql`update customers set home_store_id = 1 + id % 10`.execute(db);
      await sql`update orders set store_id = 1 + (customer_id + id % 3) % 10`.execute(db);
      await sql`analyze customers, orders, stores`.execute(db);
    });
  }
  await step('refresh + 13 snapshots', async () => {
    await refreshMeasures(database, { asOf });
    await snapshotTiers(database, {
      from: `${Number(asOf.slice(0, 4)) - 1}-${asOf.slice(5, 7)}-01`,
      to: asOf,
    });
  });
  if (values.demo) {
    await step('clv fit + predict', async () => {
      await fitClv(database, { calibrationEnd: asOf });
      await predictClv(database);
    });
  } else {
    await step('lifetime values', async () => {
      await sql`insert into clv_models (id, purchase_model, time_unit, calibration_end, customers, purchase_params, purchase_report)
        values (1, 'bgnbd', 'days', ${asOf}, 0, '{}', '{}')`.execute(db);
      await sql`insert into customer_clv (customer_id, model_id, frequency, recency, age, probability_alive, expected_purchases_next_year, clv)
        select id, 1, 0, 0, 0, ((id * 7919) % 1000) / 1000.0, 1, (id % 500) * 100 from customers`.execute(db);
      await sql`insert into clv_equity_history (model_id, computed_at, customers, equity)
        select 1, ${asOf}::date - 35, count(*), sum(clv) * 0.97 from customer_clv
        union all select 1, ${asOf}::date, count(*), sum(clv) from customer_clv`.execute(db);
    });
  }
  // As autovacuum would after a load (PGlite has none).
  await step('analyze', () => sql`analyze`.execute(db));
  return asOf;
}

async function measure(database: Database): Promise<Timing[]> {
  const app = buildServer(database);
  const { token } = await createApiToken(database, { name: 'bench', role: 'manager', allStores: true });
  const headers = { authorization: `Bearer ${token}` };
  const store = await database.db.selectFrom('stores').select('id').orderBy('id').limit(1).executeTakeFirst();
  const urls: [string, string][] = [
    ['whole shop', '/api/dashboard'],
    ...(store ? ([[`store ${store.id}`, `/api/dashboard?storeId=${store.id}`]] as [string, string][]) : []),
  ];
  const timings: Timing[] = [];
  for (const [call, url] of urls) {
    const once = async (target: string) => {
      const started = performance.now();
      const response = await app.inject({ method: 'GET', url: target, headers });
      if (response.statusCode !== 200) throw new Error(`${target}: ${response.statusCode} ${response.body}`);
      return performance.now() - started;
    };
    const first = await once(url);
    const times: number[] = [];
    for (let i = 0; i < calls; i++) times.push(await once(url));
    timings.push({ call: `${call}, served again`, first, times });
    const fresh: number[] = [];
    const computed = `${url}${url.includes('?') ? '&' : '?'}fresh=true`;
    for (let i = 0; i < calls; i++) fresh.push(await once(computed));
    timings.push({ call: `${call}, computed (fresh=true)`, first, times: fresh });
    process.stderr.write(`${call}: first ${first.toFixed(0)} ms\n`);
  }
  await app.close();
  return timings;
}

async function child(engine: string): Promise<void> {
  const setup: Result['setup'] = [];
  let timings: Timing[];
  if (values['database-url']) {
    const database = await openDatabase({ engine: 'postgres', url: values['database-url'], workMem: '64MB' });
    timings = await measure(database);
    await database.close();
  } else {
    const bench = await freshBenchDatabase(engine);
    const database = await openDatabase(bench.config);
    await migrateToLatest(database);
    await setUp(database, setup);
    timings = await measure(database);
    await database.close();
    await bench.drop();
  }
  const result: Result = { engine, setup, timings, peakRssMb: process.resourceUsage().maxRSS / 1024 };
  console.log(JSON.stringify(result));
}

function main(): void {
  const engines = values['database-url'] ? ['postgres'] : values.engines!.split(',');
  const rows: (string | number)[][] = [];
  const setupRows: (string | number)[][] = [];
  for (const engine of engines) {
    const args = ['--child', engine, '--customers', String(customers), '--calls', String(calls)];
    if (values.demo) args.push('--demo');
    if (values['database-url']) args.push('--database-url', values['database-url']);
    const run = spawnSync(process.execPath, ['--import', 'tsx', process.argv[1]!, ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 1 << 26,
    });
    if (run.status !== 0) throw new Error(`${engine} run failed (exit ${run.status})`);
    const result = JSON.parse(run.stdout.toString().trim().split('\n').at(-1)!) as Result;
    for (const s of result.setup) setupRows.push([engine, s.step, s.seconds.toFixed(1)]);
    for (const t of result.timings) {
      const sorted = [...t.times].sort((a, b) => a - b);
      rows.push([
        engine,
        t.call,
        sorted.length,
        t.first.toFixed(0),
        percentile(sorted, 0.5).toFixed(0),
        percentile(sorted, 0.95).toFixed(0),
        sorted.at(-1)!.toFixed(0),
        Math.round(result.peakRssMb),
      ]);
    }
  }
  const where = values['database-url']
    ? 'an existing database'
    : `${customers.toLocaleString('en-US')} ${values.demo ? 'demo' : 'simulated'} customers`;
  if (setupRows.length) {
    console.log(`\nSet-up (${where})\n`);
    console.log(formatTable(['engine', 'step', 'seconds'], setupRows));
  }
  console.log(`\nGET /api/dashboard on ${where} (ms per call; goal ≤ 500)\n`);
  console.log(
    formatTable(['engine', 'call', 'calls', 'first ms', 'p50 ms', 'p95 ms', 'max ms', 'peak RSS MB'], rows),
  );
}

if (values.child) await child(values.child);
else main();
