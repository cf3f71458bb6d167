/**
 * API benchmark: a real Kizuna server on 127.0.0.1 over the demo retailer, loaded with autocannon from
 * this (separate) process: many concurrent connections asking for random customers' 360 views.
 *
 *   npm run bench:api -- --customers 100000 [--engines pglite,postgres] [--connections 200] [--seconds 30]
 *                        [--as staff|token] [--route /api/customers/{id}/360]
 *
 * `--as staff` (default) signs in as a manager with a session cookie, like the web app: every read of
 * personal data by a person also writes an audit entry. `--as token` uses an API token (no audit write).
 * Prints requests/s, latency p50/p90/p99, errors and non-2xx answers, and the server's peak memory.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { refreshMeasures } from '../src/analytics/measures/index.ts';
import { buildServer } from '../src/api/index.ts';
import { createApiToken, createStaffAccount, signIn } from '../src/auth/index.ts';
import { formatTable } from '../src/cli/output.ts';
import { migrateToLatest, openDatabase } from '../src/db/index.ts';
import { DEFAULT_AS_OF } from '../src/demo/index.ts';
import { loadDemo } from '../src/demo/load-demo.ts';
import { freshBenchDatabase } from './bench-database.ts';

const { values } = parseArgs({
  options: {
    customers: { type: 'string', default: '100000' },
    engines: { type: 'string', default: 'pglite,postgres' },
    connections: { type: 'string', default: '200' },
    seconds: { type: 'string', default: '30' },
    as: { type: 'string', default: 'staff' },
    route: { type: 'string', default: '/api/customers/{id}/360' },
    child: { type: 'string' },
  },
});
const customers = Number(values.customers);

type Ready = { port: number; headers: Record<string, string>; customerIds: number[]; loadSeconds: number };

/** The server process: fresh database, demo data, measures, one account; prints where it listens. */
async function serve(engine: string): Promise<void> {
  const bench = await freshBenchDatabase(engine);
  const database = await openDatabase(bench.config);
  await migrateToLatest(database);
  const started = performance.now();
  await loadDemo(database, { customers, seed: 1 });
  await refreshMeasures(database, { asOf: DEFAULT_AS_OF.toISOString().slice(0, 10) });
  const loadSeconds = (performance.now() - started) / 1000;
  let headers: Record<string, string>;
  if (values.as === 'token') {
    const { token } = await createApiToken(database, { name: 'bench', role: 'manager', allStores: true });
    headers = { authorization: `Bearer ${token}` };
  } else {
    const password = 'bench password, long enough';
    await createStaffAccount(database, {
      code: 'bench',
      name: 'Bench',
      role: 'manager',
      allStores: true,
      password,
    });
    const session = await signIn(database, 'bench', password);
    if (!('sessionToken' in session)) throw new Error('bench sign-in failed');
    headers = { cookie: `kizuna_session=${session.sessionToken}` };
  }
  const ids = await database.db
    .selectFrom('customers')
    .select('id')
    .where('merged_into_customer_id', 'is', null)
    .execute();
  const server = buildServer(database, { logger: false });
  await server.listen({ port: 0, host: '127.0.0.1' });
  const address = server.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const ready: Ready = { port, headers, customerIds: ids.map((r) => r.id), loadSeconds };
  console.log(JSON.stringify(ready));
  process.once('SIGTERM', async () => {
    await server.close();
    await database.close();
    await bench.drop();
    console.log(JSON.stringify({ peakRssMb: process.resourceUsage().maxRSS / 1024 }));
    process.exit(0);
  });
}

async function measure(engine: string): Promise<(string | number)[]> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', import.meta.filename, ...process.argv.slice(2), '--child', engine],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  process.stderr.write(`${engine}: loading ${customers.toLocaleString('en-US')} demo customers…\n`);
  const ready = JSON.parse((await lines.next()).value as string) as Ready;
  process.stderr.write(
    `${engine}: loaded in ${ready.loadSeconds.toFixed(0)} s; ${values.connections} connections for ${values.seconds} s\n`,
  );
  const ids = ready.customerIds;
  const result = await autocannon({
    url: `http://127.0.0.1:${ready.port}`,
    connections: Number(values.connections),
    duration: Number(values.seconds),
    headers: ready.headers,
    requests: [
      {
        method: 'GET',
        setupRequest: (request) => ({
          ...request,
          path: values.route!.replace('{id}', String(ids[Math.floor(Math.random() * ids.length)])),
        }),
      },
    ],
  });
  child.kill('SIGTERM');
  const last = await lines.next();
  const peak = last.value
    ? (JSON.parse(last.value as string) as { peakRssMb: number }).peakRssMb
    : Number.NaN;
  return [
    engine,
    Math.round(result.requests.average),
    result.latency.p50,
    result.latency.p90,
    result.latency.p99,
    result.latency.max,
    result.errors + result.timeouts,
    result.non2xx,
    Math.round(peak),
  ];
}

if (values.child) {
  await serve(values.child);
} else {
  const rows: (string | number)[][] = [];
  for (const engine of values.engines!.split(',')) rows.push(await measure(engine));
  console.log(
    `\nGET ${values.route} with random ids, ${customers.toLocaleString('en-US')} demo customers, ${values.connections} connections, ${values.seconds} s, as ${values.as}\n`,
  );
  console.log(
    formatTable(
      [
        'engine',
        'requests/s',
        'p50 ms',
        'p90 ms',
        'p99 ms',
        'max ms',
        'errors',
        'non-2xx',
        'server peak RSS MB',
      ],
      rows,
    ),
  );
}
