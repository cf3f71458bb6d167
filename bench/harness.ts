import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import { formatTable } from '../src/cli/output.ts';
import { copyText, type Database, migrateToLatest, openDatabase } from '../src/db/index.ts';
import { Rng } from '../src/demo/index.ts';
import { freshBenchDatabase } from './bench-database.ts';

/** The options every simulated-shop benchmark takes: --customers N, --engines a,b (and --child, internal). */
export function benchArgs(): { customers: number; engines: string[]; child?: string } {
  const { values } = parseArgs({
    options: {
      customers: { type: 'string', default: '100000' },
      engines: { type: 'string', default: 'pglite,postgres' },
      child: { type: 'string' },
    },
  });
  return { customers: Number(values.customers), engines: values.engines!.split(','), child: values.child };
}

/** A count for a table cell: 1,234,567. */
export const count = (x: number) => x.toLocaleString('en-US');

export type Step = { step: string; seconds: number; detail: string };

/** Runs one step, records its time and prints a progress line to stderr. */
export async function timed<T>(
  steps: Step[],
  step: string,
  work: () => Promise<T> | T,
  detail: (result: T) => string = () => '',
): Promise<T> {
  const started = performance.now();
  const result = await work();
  steps.push({ step, seconds: (performance.now() - started) / 1000, detail: detail(result) });
  process.stderr.write(`${step}: ${steps.at(-1)!.seconds.toFixed(2)} s ${steps.at(-1)!.detail}\n`);
  return result;
}

export const SIMULATION_END = '2026-10-31';
const END = Date.parse(`${SIMULATION_END}T23:59:59Z`);
const WEEK = 7 * 86_400_000;

/**
 * Loads `customers` simulated customers straight into the tables with COPY (the import path is measured
 * by bench/import.ts, not here): purchases follow BG/NBD (r=0.4, α=4 per week, a=0.8, b=2.5) over the
 * 3 years before SIMULATION_END, order values Gamma-Gamma (p=6, q=4, γ=2000); with `lines`, each order
 * has one line of one of 200 products (cost 60 % of the amount) so that margins are computed too.
 */
export async function loadSimulatedShop(
  database: Database,
  customers: number,
  options: { lines: boolean },
): Promise<number> {
  await sql`insert into customers (external_id) select 'B' || g from generate_series(1, ${customers}) g`.execute(
    database.db,
  );
  if (options.lines) {
    await sql`insert into products (sku, name, category, price, unit_cost)
      select 'P' || g, 'Product ' || g, 'category ' || (g % 12), 1000, 600 from generate_series(1, 200) g`.execute(
      database.db,
    );
  }
  const rng = new Rng(42);
  let orders: string[] = [];
  let lines: string[] = [];
  let count = 0;
  const flush = async () => {
    const orderText = orders.join('');
    const lineText = lines.join('');
    orders = [];
    lines = [];
    await database.transaction(async (tx) => {
      await tx.copy('orders', ['customer_id', 'id', 'external_id', 'ordered_at', 'total'], orderText);
      if (lineText) {
        await tx.copy(
          'order_lines',
          ['customer_id', 'order_id', 'line_no', 'product_id', 'quantity', 'unit_price', 'amount'],
          lineText,
        );
      }
    });
  };
  for (let c = 1; c <= customers; c++) {
    const lambda = rng.gamma(0.4, 4);
    const p = rng.beta(0.8, 2.5);
    const nu = rng.gamma(4, 2000);
    let t = END - rng.uniform(0, 156) * WEEK;
    let first = true;
    while (t <= END) {
      const id = ++count;
      const total = rng.gamma(6, nu).toFixed(2);
      orders.push(`${c}\t${id}\tB${id}\t${copyText(new Date(t))}\t${total}\n`);
      if (options.lines)
        lines.push(`${c}\t${id}\t1\t${1 + Math.floor(rng.float() * 200)}\t1\t${total}\t${total}\n`);
      if (!first && rng.float() < p) break;
      first = false;
      t += rng.exponential(lambda) * WEEK;
    }
    if (orders.length >= 100_000) await flush();
  }
  await flush();
  await sql`select setval(pg_get_serial_sequence('orders', 'id'), ${count})`.execute(database.db);
  return count;
}

/**
 * What a reader needs to compare timings across machines: cores, memory, load at the start, and whether
 * the kernel pages out memory left untouched (DAMON's pageout: on the machines this project is measured
 * on, file pages not read for ~60 s are dropped, so "cached" data is read from disk again).
 */
export function machineNote(): string {
  const load = loadavg()
    .map((x) => x.toFixed(2))
    .join(' / ');
  const parts = [`${cpus().length} cores`, `${Math.round(totalmem() / 2 ** 30)} GiB`, `load average ${load}`];
  try {
    const admin = '/sys/kernel/mm/damon/admin/kdamonds/0';
    const scheme = `${admin}/contexts/0/schemes/0`;
    const on = readFileSync(`${admin}/state`, 'utf8').trim() === 'on';
    const action = readFileSync(`${scheme}/action`, 'utf8').trim();
    if (on && action === 'pageout') {
      const aggregateUs = Number(
        readFileSync(`${admin}/contexts/0/monitoring_attrs/intervals/aggr_us`, 'utf8'),
      );
      const minAge = Number(readFileSync(`${scheme}/access_pattern/age/min`, 'utf8'));
      parts.push(`memory untouched for ${Math.round((aggregateUs * minAge) / 1e6)} s is paged out (DAMON)`);
    }
  } catch {
    // Not Linux, or no DAMON: nothing to say.
  }
  return parts.join(', ');
}

/** In a child process: a fresh database on `engine`, `work` timed step by step, JSON on stdout. */
export async function runEngine(
  engine: string,
  work: (database: Database, steps: Step[]) => Promise<void>,
): Promise<void> {
  const bench = await freshBenchDatabase(engine);
  const database = await openDatabase(bench.config);
  await migrateToLatest(database);
  const { rows } =
    database.engine === 'postgres'
      ? await sql<{ shared_buffers: string }>`show shared_buffers`.execute(database.db)
      : { rows: [] };
  const steps: Step[] = [];
  await work(database, steps);
  await database.close();
  await bench.drop();
  const sharedBuffers = rows[0]?.shared_buffers;
  console.log(
    JSON.stringify({ engine, steps, peakRssMb: process.resourceUsage().maxRSS / 1024, sharedBuffers }),
  );
}

/** Runs `script --child ENGINE …args` per engine (peak memory is per engine) and prints one table. */
export function runEngines(script: string, engines: string[], args: string[], title: string): void {
  const rows: (string | number)[][] = [];
  const notes = [`machine: ${machineNote()}`];
  for (const engine of engines) {
    const child = spawnSync(process.execPath, ['--import', 'tsx', script, '--child', engine, ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 1 << 26,
    });
    if (child.status !== 0) throw new Error(`${engine} run failed (exit ${child.status})`);
    const result = JSON.parse(child.stdout.toString().trim().split('\n').at(-1)!) as {
      engine: string;
      steps: Step[];
      peakRssMb: number;
      sharedBuffers?: string;
    };
    if (result.sharedBuffers) notes.push(`${engine}: shared_buffers ${result.sharedBuffers}`);
    for (const s of result.steps) rows.push([engine, s.step, s.seconds.toFixed(2), s.detail, '']);
    rows.push([engine, 'peak RSS', '', '', Math.round(result.peakRssMb)]);
  }
  console.log(`\n${title}\n${notes.join('\n')}\n`);
  console.log(formatTable(['engine', 'step', 'seconds', 'detail', 'peak RSS MB'], rows));
}
