/**
 * The campaign report on a simulated shop: every customer is in an autumn mailing (10 % holdout, variants
 * A and B, goal: a product of "category 1" within 30 days) and half of them also in a later "any purchase"
 * mailing that follows it (competing touches, version 2 vs version 1). The purchases are the shop's own
 * simulated history (BG/NBD), so the report works through a realistic number of orders per customer.
 * Prints the median of 3 runs per report on each engine.
 *
 *   npx tsx bench/campaign-report.ts --customers 100000 [--engines pglite,postgres]
 */
import { sql } from 'kysely';
import { campaignReport } from '../src/campaigns/report.ts';
import type { Database } from '../src/db/index.ts';
import { benchArgs, count, loadSimulatedShop, runEngine, runEngines, type Step, timed } from './harness.ts';

const FIRST_START = '2026-09-01T01:00:00Z';
const SECOND_START = '2026-09-20T01:00:00Z';
const AS_OF = new Date('2026-10-31T23:59:59Z');

async function loadCampaigns(
  database: Database,
): Promise<{ first: number; second: number; members: number }> {
  const db = database.db;
  const campaign = async (
    name: string,
    start: string,
    goal: Record<string, unknown>,
    previous: number | null,
  ) =>
    (
      await db
        .insertInto('campaigns')
        .values({
          name,
          channel: 'email',
          created_by_name: 'bench',
          send_started_at: new Date(start),
          status: 'sent',
          cost_per_touch: '1',
          holdout_share: '0.1',
          previous_campaign_id: previous,
          ...goal,
        })
        .returning('id')
        .executeTakeFirstOrThrow()
    ).id;
  const first = await campaign(
    'autumn mailing',
    FIRST_START,
    { goal_kind: 'category', goal_category: 'category 1', goal_window_days: 30 },
    null,
  );
  const second = await campaign(
    'autumn mailing (v2)',
    SECOND_START,
    { goal_kind: 'any', goal_window_days: 14 },
    first,
  );
  for (const [id, start, share] of [
    [first, FIRST_START, 1],
    [second, SECOND_START, 2],
  ] as const) {
    await db
      .insertInto('campaign_variants')
      .values(['A', 'B'].map((code) => ({ campaign_id: id, code, content: '{}' })))
      .execute();
    // Every customer (the second: every other one); customer id mod 10 = 0 is the holdout, odd → A, even → B.
    await sql`
      insert into campaign_recipients (customer_id, campaign_id, variant, holdout, state, sent_at)
      select c.id, ${id}, case when c.id % 10 = 0 then null when c.id % 2 = 1 then 'A' else 'B' end, c.id % 10 = 0,
             case when c.id % 10 = 0 then 'held_out' else 'sent' end,
             case when c.id % 10 <> 0 then ${start}::timestamptz + (c.id % 3600) * interval '1 second' end
      from customers c where c.id % ${share}::int = 0`.execute(db);
    await sql`
      insert into touches (customer_id, channel, campaign, campaign_id, variant, cost, sent_at)
      select customer_id, 'email', 'bench', campaign_id, variant, 1, sent_at
      from campaign_recipients where campaign_id = ${id} and state = 'sent'`.execute(db);
  }
  const members = await db
    .selectFrom('campaign_recipients')
    .select(sql<number>`count(*)::int`.as('n'))
    .executeTakeFirstOrThrow();
  return { first, second, members: Number(members.n) };
}

const { customers, engines, child } = benchArgs();

if (child) {
  await runEngine(child, async (database, steps) => {
    await timed(
      steps,
      'load (simulate + COPY)',
      () => loadSimulatedShop(database, customers, { lines: true }),
      (o) => `${count(o)} orders`,
    );
    const campaigns = await timed(
      steps,
      'campaigns, recipients, touches',
      () => loadCampaigns(database),
      (c) => `${count(c.members)} recipients in 2 campaigns`,
    );
    await timed(steps, database.engine === 'postgres' ? 'vacuum analyze' : 'analyze', () =>
      sql.raw(database.engine === 'postgres' ? 'vacuum analyze' : 'analyze').execute(database.db),
    );
    const runs: [string, number, 'last_touch' | 'first_touch'][] = [
      ['report v1, last touch', campaigns.first, 'last_touch'],
      ['report v1, first touch', campaigns.first, 'first_touch'],
      ['report v2 (with v1 beside it)', campaigns.second, 'last_touch'],
    ];
    for (const [name, id, attribution] of runs) {
      let responders = 0;
      const times: number[] = [];
      for (let run = 0; run < 3; run++) {
        const started = performance.now();
        const report = await campaignReport(database, id, { attribution, asOf: AS_OF });
        times.push(performance.now() - started);
        responders =
          report.treated.responders + (report.arms.find((a) => a.variant === null)?.responders ?? 0);
      }
      times.sort((a, b) => a - b);
      const step: Step = {
        step: name,
        seconds: times[1]! / 1000,
        detail: `median of 3 (min ${times[0]!.toFixed(0)} ms, max ${times[2]!.toFixed(0)} ms); ${count(responders)} responders`,
      };
      steps.push(step);
      process.stderr.write(`${step.step}: ${step.seconds.toFixed(2)} s ${step.detail}\n`);
    }
  });
} else {
  runEngines(
    'bench/campaign-report.ts',
    engines,
    ['--customers', String(customers)],
    `Campaign report on ${count(customers)} simulated customers`,
  );
}
