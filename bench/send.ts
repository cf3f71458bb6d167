/**
 * Sending benchmark: simulated customers (bench/harness.ts) with an e-mail address and consent each, one
 * e-mail campaign to all of them (10 % holdout), assigned, previewed and sent through the real path —
 * claim batch, contact policy, Liquid personalisation, signed unsubscribe link, SMTP over a nodemailer
 * pool, touches + row states in one transaction per batch — into the local SMTP catcher, which runs in
 * its own process as a real relay would. One table: time per step, mails/s, peak memory of the sender.
 *
 *   npx tsx bench/send.ts --customers 100000 [--engines pglite,postgres]
 *   BENCH_SEND_BATCH=1000 BENCH_SEND_CONCURRENCY=3 BENCH_SEND_CONNECTIONS=30 (defaults) tune the batch size and SMTP connections.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { sql } from 'kysely';
import { CLI_ACTOR } from '../src/auth/index.ts';
import {
  assignCampaign,
  createCampaign,
  emailChannel,
  previewCampaign,
  sendCampaign,
  startMailCatcher,
} from '../src/campaigns/index.ts';
import { parseRules, saveSegment } from '../src/segments/index.ts';
import {
  benchArgs,
  count,
  loadSimulatedShop,
  runEngine,
  runEngines,
  SIMULATION_END,
  timed,
} from './harness.ts';

const BATCH = Number(process.env.BENCH_SEND_BATCH ?? 1000);
const CONNECTIONS = Number(process.env.BENCH_SEND_CONNECTIONS ?? 30);
const CONCURRENCY = Number(process.env.BENCH_SEND_CONCURRENCY ?? 3);

type CatcherStats = { received: number; duplicates: number; kept: number; uniqueMessageIds: number };

if (process.argv.includes('--catcher')) {
  // The SMTP sink process: keeps only the last 1,000 mails, counts all, answers stats over IPC.
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
    await runEngine(child, async (database, steps) => {
      await timed(
        steps,
        'load (simulate + COPY)',
        () => loadSimulatedShop(database, customers, { lines: true }),
        (o) => `${count(o)} orders`,
      );
      await timed(steps, 'addresses, consents, analyze', async () => {
        await sql`update customers set name = 'Customer ' || id, email = 'c' || id || '@example.jp', tags = '{audience}'`.execute(
          database.db,
        );
        await sql`insert into consents (customer_id, channel, granted, recorded_at, source)
          select id, 'email', true, ${`${SIMULATION_END}T00:00:00Z`}::timestamptz, 'bench' from customers`.execute(
          database.db,
        );
        await sql.raw(database.engine === 'postgres' ? 'vacuum analyze' : 'analyze').execute(database.db);
      });
      await saveSegment(database, CLI_ACTOR, {
        name: 'everyone',
        rules: parseRules({ kind: 'tag', tags: ['audience'] }),
      });
      const campaign = await createCampaign(database, CLI_ACTOR, {
        name: 'bench',
        channel: 'email',
        audience: { segment: 'everyone' },
        holdoutShare: 0.1,
        seed: 7,
        variants: [
          { code: 'A', subject: '{{ customer.name }}, new in {{ favourite_category }}', offer: '10 % off' },
          { code: 'B', subject: 'For you, {{ customer.name }}', offer: 'free delivery' },
        ],
      });
      await timed(
        steps,
        'assign (snapshot + holdout + variants)',
        () => assignCampaign(database, CLI_ACTOR, campaign.id),
        (a) => `${count(a.members)} members, ${count(a.holdout)} held out`,
      );
      await timed(
        steps,
        'preview (contact policy for all)',
        () => previewCampaign(database, CLI_ACTOR, campaign.id),
        (p) => `${count(p.reach.email ?? 0)} reachable`,
      );

      const sink: ChildProcess = spawn(
        process.execPath,
        ['--import', 'tsx', import.meta.filename, '--catcher'],
        {
          stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        },
      );
      const [{ url }] = (await once(sink, 'message')) as [{ url: string }];
      const email = emailChannel(database, { smtpUrl: url, maxConnections: CONNECTIONS });
      const result = await timed(
        steps,
        `send (batch ${BATCH} × ${CONCURRENCY}, ${CONNECTIONS} SMTP connections)`,
        () =>
          sendCampaign(database, CLI_ACTOR, campaign.id, {
            senders: { email },
            batchSize: BATCH,
            concurrency: CONCURRENCY,
          }),
        (r) => `${count(r.sent)} mails, ${count(Math.round(r.sent / r.seconds))} mails/s`,
      );
      await email.close?.();
      sink.send('stats');
      const [{ stats }] = (await once(sink, 'message')) as [{ stats: CatcherStats }];
      sink.send('stop');
      const touches = await sql<{ n: number }>`
        select count(*)::int as n from touches where campaign_id = ${campaign.id}`.execute(database.db);
      steps.push({
        step: 'check',
        seconds: 0,
        detail: `catcher received ${count(stats.received)} (${count(stats.duplicates)} duplicates); ${count(touches.rows[0]!.n)} touches; sent ${count(result.sent)}`,
      });
    });
  } else {
    runEngines(
      import.meta.filename,
      engines,
      ['--customers', String(customers)],
      `Campaign send: ${count(customers)} customers, e-mail into the local SMTP catcher`,
    );
  }
}
