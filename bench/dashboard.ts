/**
 * Dashboard benchmark: GET /api/dashboard (every dashboard figure in one call) on the demo retailer at
 * 100,000 customers, through the real server (Fastify inject: routing, auth, JSON), on each engine.
 * Each engine: a fresh database, the demo loaded through the importer, a measures refresh with month-end
 * tier snapshots for the 13 months before the demo's end, a CLV fit and prediction; then the dashboard
 * is asked `--calls` times (after one first, cold call), whole shop and one store.
 *
 *   npm run bench:dashboard -- [--customers 100000] [--engines pglite,postgres] [--calls 20]
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

const { values } = parseArgs({
  options: {
    customers: { type: 'string', default: '100000' },
    engines: { type: 'string', default: 'pglite,postgres' },
    calls: { type: 'string', default: '20' },
    'database-url': { type: 'string' },
    child: { type: 'string' },
  },
});
const customers = Number(values.customers);
const calls = Number(values.calls);
const AS_OF = DEFAULT_AS_OF.toISOString().slice(0, 10);

type Timing = { call: string; first: number; times: number[] };
type Result = {
  engine: string;
  setup: { step: string; seconds: number }[];
  timings: Timing[];
  peakRssMb: number;
};

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;

async function setUp(database: Database, setup: Result['setup']): Promise<void> {
  const step = async (name: string, work: () => Promise<unknown>) => {
    const started = performance.now();
    await work();
    setup.push({ step: name, seconds: (performance.now() - started) / 1000 });
    process.stderr.write(`${name}: ${setup.at(-1)!.seconds.toFixed(1)} s\n`);
  };
  await step('load demo', () => loadDemo(database, { customers, seed: 1 }));
  await step('refresh + snapshots', async () => {
    await refreshMeasures(database, { asOf: AS_OF });
    await snapshotTiers(database, { from: '2025-10-01', to: AS_OF });
  });
  await step('clv fit + predict', async () => {
    await fitClv(database, { calibrationEnd: AS_OF });
    await predictClv(database);
  });
  // As autovacuum would after a load (PGlite has none).
  await step('analyze', () => sql`analyze`.execute(database.db));
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
    const once = async () => {
      const started = performance.now();
      const response = await app.inject({ method: 'GET', url, headers });
      if (response.statusCode !== 200) throw new Error(`${url}: ${response.statusCode} ${response.body}`);
      return performance.now() - started;
    };
    const first = await once();
    const times: number[] = [];
    for (let i = 0; i < calls; i++) times.push(await once());
    timings.push({ call, first, times });
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
    : `${customers.toLocaleString('en-US')} demo customers`;
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
