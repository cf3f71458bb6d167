/**
 * Import benchmark: generates the demo retailer at a given size as CSV files, then imports them into
 * each engine in a separate child process (so peak memory is per engine), and prints one table.
 *
 *   npm run bench:import -- --customers 100000 [--engines pglite,postgres] [--seed 1]
 *
 * PostgreSQL: DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres) names the server; a
 * fresh database kizuna_bench_<random> is created and dropped.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { formatTable } from '../src/cli/output.ts';
import { migrateToLatest, openDatabase } from '../src/db/index.ts';
import { writeDemoFiles } from '../src/demo/index.ts';
import { importRecords, KIND_NAMES, openFileSource } from '../src/importer/index.ts';
import { freshBenchDatabase } from './bench-database.ts';

type KindResult = { kind: string; rows: number; seconds: number };
type EngineResult = { engine: string; kinds: KindResult[]; peakRssMb: number; databaseMb: number };

const { values } = parseArgs({
  options: {
    customers: { type: 'string', default: '100000' },
    seed: { type: 'string', default: '1' },
    engines: { type: 'string', default: 'pglite,postgres' },
    child: { type: 'string' },
    dir: { type: 'string' },
  },
});

/** Runs in the child: imports every file of `dir` into one engine and prints JSON. */
async function runChild(engine: string, dir: string): Promise<void> {
  const bench = await freshBenchDatabase(engine);
  const database = await openDatabase(bench.config);
  await migrateToLatest(database);
  const kinds: KindResult[] = [];
  for (const kind of KIND_NAMES) {
    const path = join(dir, `${kind}.csv`);
    if (!existsSync(path)) continue;
    const started = performance.now();
    const result = await importRecords(database, kind, await openFileSource(path), { batchSize: 50_000 });
    if (result.errorCount)
      throw new Error(`${kind}: ${result.errorCount} errors, e.g. ${JSON.stringify(result.errors[0])}`);
    kinds.push({ kind, rows: result.rows, seconds: (performance.now() - started) / 1000 });
    process.stderr.write(`${engine} ${kind}: ${result.rows} rows in ${kinds.at(-1)!.seconds.toFixed(1)} s\n`);
  }
  await database.close();
  const databaseMb = (await bench.sizeBytes()) / 2 ** 20;
  await bench.drop();
  const result: EngineResult = {
    engine,
    kinds,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    databaseMb,
  };
  console.log(JSON.stringify(result));
}

async function main(): Promise<void> {
  if (values.child) return runChild(values.child, values.dir!);
  const customers = Number(values.customers);
  const dir = join('bench/out', `demo-${customers}-seed${values.seed}`);
  if (!existsSync(join(dir, 'manifest.json'))) {
    const started = performance.now();
    process.stderr.write(`generating ${customers} customers into ${dir}…\n`);
    await writeDemoFiles({ customers, seed: Number(values.seed) }, dir);
    process.stderr.write(`generated in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  }
  const rows: (string | number)[][] = [];
  for (const engine of values.engines!.split(',')) {
    const child = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'bench/import.ts', '--child', engine, '--dir', dir],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
        maxBuffer: 1 << 26,
      },
    );
    if (child.status !== 0) throw new Error(`${engine} run failed (exit ${child.status})`);
    const result = JSON.parse(child.stdout.toString().trim().split('\n').at(-1)!) as EngineResult;
    for (const k of result.kinds) {
      rows.push([engine, k.kind, k.rows, k.seconds.toFixed(2), Math.round(k.rows / k.seconds), '', '']);
    }
    const total = result.kinds.reduce((a, k) => ({ rows: a.rows + k.rows, seconds: a.seconds + k.seconds }), {
      rows: 0,
      seconds: 0,
    });
    rows.push([
      engine,
      'ALL',
      total.rows,
      total.seconds.toFixed(2),
      Math.round(total.rows / total.seconds),
      Math.round(result.peakRssMb),
      Math.round(result.databaseMb),
    ]);
  }
  console.log(
    `\nimport of the demo retailer, ${customers.toLocaleString('en-US')} customers (seed ${values.seed})\n`,
  );
  console.log(formatTable(['engine', 'kind', 'rows', 'seconds', 'rows/s', 'peak RSS MB', 'db MB'], rows));
}

await main();
