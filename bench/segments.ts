/**
 * Segments benchmark: simulated customers with orders and lines (bench/harness.ts), plus touches,
 * complaints, consents, preference notes, measures and lifetime values, loaded into each engine; then the
 * count of every built-in template, of a 10-condition tree and of two RFM groups, each run 5 times after a
 * warm-up (median). The plan of the slowest count of the goal (the templates and the tree; the RFM
 * count is outside it) is printed (EXPLAIN ANALYZE) on stderr.
 *
 *   npx tsx bench/segments.ts --customers 100000 [--engines pglite,postgres]
 */
import { sql } from 'kysely';
import { refreshMeasures } from '../src/analytics/measures/index.ts';
import { CLI_ACTOR } from '../src/auth/index.ts';
import {
  countSegment,
  explainSegment,
  parseRules,
  type RuleNode,
  TEMPLATES,
  templateRules,
} from '../src/segments/index.ts';
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
import { AS_OF, loadContacts, PARAMS, TEN_CONDITIONS } from './segment-shop.ts';

const { customers, engines, child } = benchArgs();

if (child) {
  await runEngine(child, async (database, steps) => {
    await timed(
      steps,
      'load (simulate + COPY)',
      () => loadSimulatedShop(database, customers, { lines: true }),
      (o) => `${count(o)} orders`,
    );
    await timed(steps, 'touches, complaints, consents, notes, CLV', () => loadContacts(database));
    await timed(steps, 'measures refresh', () => refreshMeasures(database, { asOf: SIMULATION_END }));
    // As Kizuna leaves the tables: PostgreSQL's autovacuum would get here on its own after a load, and on
    // PGlite (no autovacuum) imports and the measures refresh vacuum what they wrote (src/importer).
    await timed(steps, 'vacuum analyze', () => sql`vacuum analyze`.execute(database.db));
    // [name, rules, within the goal]
    const queries: [string, RuleNode, boolean][] = [
      ...TEMPLATES.map((t): [string, RuleNode, boolean] => [
        t.name,
        templateRules(t.name, PARAMS[t.name] ?? {}),
        true,
      ]),
      ['10-condition tree', TEN_CONDITIONS, true],
      // Not a template: RFM scores are computed at read time since migration 022 (no index by group).
      ['RFM champions or loyal', parseRules({ kind: 'rfm', groups: ['champions', 'loyal'] }), false],
    ];
    const scope = { asOf: AS_OF, actor: CLI_ACTOR };
    let slowest: { name: string; rules: RuleNode; ms: number } | null = null;
    for (const [name, rules, inGoal] of queries) {
      const members = await countSegment(database, rules, scope);
      const times: number[] = [];
      for (let run = 0; run < 5; run++) {
        const started = performance.now();
        await countSegment(database, rules, scope);
        times.push(performance.now() - started);
      }
      times.sort((a, b) => a - b);
      const median = times[2]!;
      const step: Step = {
        step: `count ${name}`,
        seconds: median / 1000,
        detail: `median ${median.toFixed(0)} ms (min ${times[0]!.toFixed(0)}, max ${times[4]!.toFixed(0)}); ${count(members)} members`,
      };
      steps.push(step);
      process.stderr.write(`${step.step}: ${step.detail}\n`);
      if (inGoal && (slowest === null || median > slowest.ms)) slowest = { name, rules, ms: median };
    }
    if (slowest) {
      const plan = await explainSegment(database, slowest.rules, scope, { analyze: true });
      process.stderr.write(`\n[${child}] plan of the slowest count (${slowest.name}):\n${plan}\n\n`);
    }
  });
} else {
  runEngines(
    'bench/segments.ts',
    engines,
    ['--customers', String(customers)],
    `Segment counts on ${count(customers)} simulated customers`,
  );
}
