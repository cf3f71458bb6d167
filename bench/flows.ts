/**
 * Flow benchmark: simulated customers (bench/harness.ts) with an e-mail address and consent each enter
 * a flow at once and the durable scheduler runs their steps through the real path — claim (FOR UPDATE SKIP
 * LOCKED, lease), goal check, contact policy, Liquid personalisation, signed unsubscribe link, SMTP over a
 * nodemailer pool into the local catcher (its own process, as a real relay), then touches + step events
 * + next jobs + job completion in one transaction per batch.
 *
 * 1. entry: N custom events, one trigger scan enrolls everyone (one INSERT … SELECT per flow);
 * 2. burst: all N first steps due at the same instant (send, then a tag step): steps/s, and the lag
 *    between due time and execution — here mostly the time a job waits in the queue behind the others;
 * 3. steady: a second flow whose N sends fall due evenly at each of BENCH_FLOWS_RATES per second (as waits
 *    ending at different times do): the lag p50/p99 of a scheduler that keeps up. In the burst the lag is
 *    mostly queueing (the last of N jobs due at once waits about N ÷ throughput), so the lag goal is read
 *    here, with the due rate within what the workers can execute.
 *
 *   npx tsx bench/flows.ts --customers 100000 [--engines pglite,postgres]
 *   BENCH_FLOWS_BATCH=1000 BENCH_FLOWS_WORKERS=3 BENCH_FLOWS_CONNECTIONS=30 BENCH_FLOWS_RATES=1000,2000 (defaults)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { sql } from 'kysely';
import { CLI_ACTOR } from '../src/auth/index.ts';
import { startMailCatcher } from '../src/campaigns/index.ts';
import type { Database } from '../src/db/index.ts';
import {
  createFlow,
  scanTriggers,
  setFlowEnabled,
  smtpStepMailer,
  systemClock,
  tick,
} from '../src/flows/index.ts';
import {
  benchArgs,
  count,
  loadSimulatedShop,
  runEngine,
  runEngines,
  SIMULATION_END,
  type Step,
  timed,
} from './harness.ts';

const BATCH = Number(process.env.BENCH_FLOWS_BATCH ?? 1000);
const WORKERS = Number(process.env.BENCH_FLOWS_WORKERS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_FLOWS_CONNECTIONS ?? 30);
const RATES = (process.env.BENCH_FLOWS_RATES ?? '1000,2000').split(',').map(Number);

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
}

/** Workers tick until `expected` steps ran (sleeping 20 ms when nothing is due); every lag is collected. */
async function drain(
  database: Database,
  workers: number,
  expected: number,
  mailer: ReturnType<typeof smtpStepMailer>,
): Promise<{ executed: number; seconds: number; lags: number[]; timings: Record<string, number> }> {
  const lags: number[] = [];
  const timings: Record<string, number> = {};
  let executed = 0;
  const started = performance.now();
  const loop = async (w: number) => {
    while (executed < expected) {
      const result = await tick(database, {
        clock: systemClock,
        mailer,
        scan: false,
        batchSize: BATCH,
        workerId: `bench-${w}`,
      });
      executed += result.executed;
      for (const lag of result.lags) lags.push(lag);
      for (const [phase, ms] of Object.entries(result.timings)) timings[phase] = (timings[phase] ?? 0) + ms;
      if (result.executed === 0) await new Promise((r) => setTimeout(r, 20));
    }
  };
  await Promise.all(Array.from({ length: workers }, (_, w) => loop(w)));
  return {
    executed,
    seconds: (performance.now() - started) / 1000,
    lags: lags.sort((a, b) => a - b),
    timings,
  };
}

/** Steps/s, lag percentiles, and the workers' time per phase (summed over workers; policy and mail are parts of steps). */
const lagDetail = (r: Awaited<ReturnType<typeof drain>>) =>
  `${count(r.executed)} steps, ${count(Math.round(r.executed / r.seconds))} steps/s; lag p50 ${(percentile(r.lags, 0.5) / 1000).toFixed(2)} s, p99 ${(percentile(r.lags, 0.99) / 1000).toFixed(2)} s; worker s: ${Object.entries(
    r.timings,
  )
    .map(([phase, ms]) => `${phase} ${(ms / 1000).toFixed(1)}`)
    .join(', ')}`;

if (process.argv.includes('--catcher')) {
  const catcher = await startMailCatcher({ capacity: 1000 });
  process.send!({ url: catcher.url });
  process.on('message', async (message: string) => {
    if (message === 'stats') process.send!({ stats: catcher.stats() });
    if (message === 'stop') {
      await catcher.close();
      process.exit(0);
    }
  });
} else {
  const { customers, engines, child } = benchArgs();
  if (child) {
    await runEngine(child, async (database, steps: Step[]) => {
      // PGlite is one connection: one worker (more would only queue on it).
      const workers = database.engine === 'postgres' ? WORKERS : 1;
      await timed(
        steps,
        'load (simulate + COPY)',
        () => loadSimulatedShop(database, customers, { lines: true }),
        (o) => `${count(o)} orders`,
      );
      await timed(steps, 'addresses, consents, analyze', async () => {
        await sql`update customers set name = 'Customer ' || id, email = 'c' || id || '@example.jp'`.execute(
          database.db,
        );
        await sql`insert into consents (customer_id, channel, granted, recorded_at, source)
          select id, 'email', true, ${`${SIMULATION_END}T00:00:00Z`}::timestamptz, 'bench' from customers`.execute(
          database.db,
        );
        await sql.raw(database.engine === 'postgres' ? 'vacuum analyze' : 'analyze').execute(database.db);
      });
      const burstFlow = await createFlow(
        database,
        {
          name: 'Bench burst',
          definition: {
            trigger: { type: 'event', name: 'bench_burst' },
            steps: [
              {
                kind: 'send',
                subject: 'Welcome, {{ customer.name }}',
                bodyText:
                  'Dear {{ customer.name }}, thank you{% if favourite_category %} — {{ favourite_category }}{% endif %}.',
              },
              { kind: 'tag', add: ['welcomed'] },
            ],
          },
        },
        CLI_ACTOR,
      );
      const steadyFlow = await createFlow(
        database,
        {
          name: 'Bench steady',
          definition: {
            trigger: { type: 'event', name: 'bench_steady' },
            steps: [
              {
                kind: 'send',
                subject: 'A tip for you, {{ customer.name }}',
                bodyText: 'Hello {{ customer.name }}.',
              },
            ],
          },
        },
        CLI_ACTOR,
      );
      await setFlowEnabled(database, burstFlow.id, true);
      await setFlowEnabled(database, steadyFlow.id, false);
      await sql`insert into flow_events (customer_id, name, occurred_at) select id, 'bench_burst', now() from customers`.execute(
        database.db,
      );
      await timed(
        steps,
        'entry: one trigger scan',
        () => scanTriggers(database, systemClock),
        (r) => `${count(r.reduce((s, x) => s + x.entered, 0))} customers entered`,
      );

      const sink: ChildProcess = spawn(
        process.execPath,
        ['--import', 'tsx', import.meta.filename, '--catcher'],
        {
          stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        },
      );
      const [{ url }] = (await once(sink, 'message')) as [{ url: string }];
      const mailer = smtpStepMailer(database, { smtpUrl: url, maxConnections: CONNECTIONS });
      await timed(
        steps,
        `burst: all due at once (send + tag; batch ${BATCH} × ${workers} workers, ${CONNECTIONS} SMTP connections)`,
        () => drain(database, workers, 2 * customers, mailer),
        lagDetail,
      );

      await setFlowEnabled(database, burstFlow.id, false);
      await setFlowEnabled(database, steadyFlow.id, true);
      for (const rate of RATES) {
        await sql`insert into flow_events (customer_id, name, occurred_at) select id, 'bench_steady', now() from customers`.execute(
          database.db,
        );
        await scanTriggers(database, systemClock);
        // Spread the due times evenly: `rate` per second from 2 s from now.
        const start = new Date(Date.now() + 2000);
        await sql`
          update flow_jobs j set due_at = ${start}::timestamptz + (r.n / ${rate}::float8) * interval '1 second'
          from (select customer_id, id, row_number() over (order by customer_id) - 1 as n from flow_jobs where state = 'pending') r
          where j.customer_id = r.customer_id and j.id = r.id`.execute(database.db);
        await timed(
          steps,
          `steady: due at ${count(rate)}/s (send)`,
          () => drain(database, workers, customers, mailer),
          lagDetail,
        );
      }
      await mailer.close();
      sink.send('stats');
      const [{ stats }] = (await once(sink, 'message')) as [
        { stats: { received: number; duplicates: number } },
      ];
      sink.send('stop');
      const touches = await sql<{ n: number }>`
        select count(*)::int as n from touches where channel = 'step_mail'`.execute(database.db);
      steps.push({
        step: 'check',
        seconds: 0,
        detail: `catcher received ${count(stats.received)} (${count(stats.duplicates)} duplicates); ${count(touches.rows[0]!.n)} step-mail touches`,
      });
    });
  } else {
    runEngines(
      import.meta.filename,
      engines,
      ['--customers', String(customers)],
      `Flows: ${count(customers)} customers entering a flow at once; steps through the durable scheduler into the local SMTP catcher`,
    );
  }
}
