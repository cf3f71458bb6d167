import { sql } from 'kysely';
import { CLI_ACTOR } from '../auth/index.ts';
import {
  newcombeInterval,
  relativeLift,
  twoProportionZTest,
  wilsonInterval,
} from '../campaigns/statistics.ts';
import type { Database } from '../db/index.ts';
import { memberIdsQuery, withDatabaseFacts } from '../segments/index.ts';
import { getFlow, loadDefinitions } from './flows.ts';

/**
 * The flow report (issue #10 part 5). Per flow: how many entered (holdouts apart), where they are now
 * (active = waiting for their next step, completed, goal reached, exited, superseded by a new occurrence),
 * and per version and step what the step did: executed, sent, suppressed by the contact policy (with the
 * policy's reasons), bounced/failed, branch outcomes, tasks, tags; "waiting" = enrolled customers whose
 * next step this is.
 *
 * Goal conversion vs the holdout, with the campaign statistics: a customer converts when the goal is met
 * within the goal's window after the trigger occurrence — for a purchase goal, an order after the
 * occurrence and within windowDays (and up to now); for a rule goal, being a member of the goal's rule
 * tree now. Both groups are measured the same way, so the difference is the flow's effect: Wilson
 * intervals per group, Newcombe's interval of the difference (treated − holdout), the pooled z-test's
 * two-sided p-value and the relative lift. Windows still open count as not (yet) converted in both groups.
 */
export type StepReport = {
  version: number;
  index: number;
  kind: string;
  label: string | null;
  executed: number;
  waiting: number;
  sent: number;
  suppressed: number;
  suppressedReasons: Record<string, number>;
  failed: number;
  outcomes: Record<string, number>;
};

export type GroupResult = {
  customers: number;
  converted: number;
  rate: number | null;
  interval: { lower: number; upper: number } | null;
};

export type FlowReport = {
  flow: { id: number; name: string; currentVersion: number; enabled: boolean };
  asOf: Date;
  entered: number;
  heldOut: number;
  goalReached: number;
  states: Record<string, number>;
  steps: StepReport[];
  goal: null | {
    kind: string;
    windowDays: number;
    treated: GroupResult;
    holdout: GroupResult;
    difference: { value: number; lower: number; upper: number } | null;
    pValue: number | null;
    relativeLift: number | null;
  };
};

function group(customers: number, converted: number): GroupResult {
  return {
    customers,
    converted,
    rate: customers > 0 ? converted / customers : null,
    interval: wilsonInterval(converted, customers),
  };
}

export async function flowReport(
  database: Database,
  key: number | string,
  options: { now?: Date } = {},
): Promise<FlowReport> {
  const now = options.now ?? new Date();
  const flow = await getFlow(database, key);
  const states = await sql<{ state: string; n: number }>`
    select state, count(*)::int as n from flow_enrollments where flow_id = ${flow.id} group by state`.execute(
    database.db,
  );
  const stateCounts = Object.fromEntries(states.rows.map((r) => [r.state, r.n]));
  const versions = await sql<{ version: number }>`
    select distinct version from flow_enrollments where flow_id = ${flow.id}
    union select ${flow.currentVersion}::int order by 1`.execute(database.db);
  const definitions = await loadDefinitions(
    database,
    versions.rows.map((v) => ({ flowId: flow.id, version: v.version })),
  );
  const events = await sql<{
    version: number;
    step_index: number | null;
    outcome: string;
    reason: string | null;
    n: number;
  }>`
    select version, step_index, outcome, reason, count(*)::int as n from flow_step_events
    where flow_id = ${flow.id} group by version, step_index, outcome, reason`.execute(database.db);
  const waiting = await sql<{ version: number; step_index: number; n: number }>`
    select version, step_index, count(*)::int as n from flow_enrollments
    where flow_id = ${flow.id} and state = 'active' and step_index is not null group by version, step_index`.execute(
    database.db,
  );
  const steps: StepReport[] = [];
  for (const { version } of versions.rows) {
    const definition = definitions.get(`${flow.id}:${version}`);
    definition?.steps.forEach((step, index) => {
      const mine = events.rows.filter((e) => e.version === version && e.step_index === index);
      const count = (outcome: string) =>
        mine.filter((e) => e.outcome === outcome).reduce((s, e) => s + e.n, 0);
      const reasons: Record<string, number> = {};
      const outcomes: Record<string, number> = {};
      for (const e of mine) {
        outcomes[e.outcome] = (outcomes[e.outcome] ?? 0) + e.n;
        if (e.outcome === 'suppressed' && e.reason) reasons[e.reason] = (reasons[e.reason] ?? 0) + e.n;
      }
      steps.push({
        version,
        index,
        kind: step.kind,
        label: step.label ?? (step.kind === 'send' ? step.subject : (step.id ?? null)),
        executed: mine.reduce((s, e) => s + e.n, 0),
        waiting: waiting.rows.find((w) => w.version === version && w.step_index === index)?.n ?? 0,
        sent: count('sent'),
        suppressed: count('suppressed'),
        suppressedReasons: reasons,
        failed: count('failed') + count('bounced'),
        outcomes,
      });
    });
  }

  const goalDefinition = flow.definition.goal;
  let goal: FlowReport['goal'] = null;
  if (goalDefinition) {
    const window = goalDefinition.windowDays;
    let rows: Array<{ holdout: boolean; n: number; converted: number }>;
    if (goalDefinition.kind === 'purchase') {
      ({ rows } = await sql<{ holdout: boolean; n: number; converted: number }>`
        select e.holdout, count(*)::int as n, count(*) filter (where exists (
          select 1 from orders o where o.customer_id = e.customer_id
            and o.ordered_at > coalesce((e.trigger_data ->> 'occurredAt')::timestamptz, e.entered_at)
            and o.ordered_at <= coalesce((e.trigger_data ->> 'occurredAt')::timestamptz, e.entered_at) + ${window}::int * interval '1 day'
            and o.ordered_at <= ${now}))::int as converted
        from flow_enrollments e where e.flow_id = ${flow.id} group by e.holdout`.execute(database.db));
    } else {
      const scope = await withDatabaseFacts(database, { asOf: now, actor: CLI_ACTOR });
      ({ rows } = await sql<{ holdout: boolean; n: number; converted: number }>`
        select e.holdout, count(*)::int as n,
          count(*) filter (where e.state = 'goal' or e.customer_id in (select m.id from (${memberIdsQuery(goalDefinition.rules, scope)}) m))::int as converted
        from flow_enrollments e where e.flow_id = ${flow.id} group by e.holdout`.execute(database.db));
    }
    const treated = rows.find((r) => !r.holdout) ?? { n: 0, converted: 0 };
    const held = rows.find((r) => r.holdout) ?? { n: 0, converted: 0 };
    const difference = newcombeInterval(treated.converted, treated.n, held.converted, held.n);
    goal = {
      kind: goalDefinition.kind,
      windowDays: window,
      treated: group(treated.n, treated.converted),
      holdout: group(held.n, held.converted),
      difference: difference
        ? { value: difference.difference, lower: difference.lower, upper: difference.upper }
        : null,
      pValue: twoProportionZTest(treated.converted, treated.n, held.converted, held.n)?.pValue ?? null,
      relativeLift: relativeLift(treated.converted, treated.n, held.converted, held.n),
    };
  }
  const heldOut = stateCounts.held_out ?? 0;
  const total = Object.values(stateCounts).reduce((s, n) => s + n, 0);
  return {
    flow: { id: flow.id, name: flow.name, currentVersion: flow.currentVersion, enabled: flow.enabled },
    asOf: now,
    entered: total - heldOut,
    heldOut,
    goalReached: stateCounts.goal ?? 0,
    states: stateCounts,
    steps,
    goal,
  };
}

const pct = (x: number | null) => (x === null ? '—' : `${(x * 100).toFixed(1)} %`);

/** The report as plain text (the CLI's `kizuna flow report`). */
export function renderFlowReport(report: FlowReport): string {
  const lines: string[] = [];
  lines.push(
    `Flow ${report.flow.id} "${report.flow.name}" (version ${report.flow.currentVersion}, ${report.flow.enabled ? 'on' : 'off'})`,
  );
  lines.push(
    `Entered ${report.entered}  held out ${report.heldOut}  goal reached ${report.goalReached}  ` +
      Object.entries(report.states)
        .map(([s, n]) => `${s} ${n}`)
        .join('  '),
  );
  lines.push('');
  lines.push('ver  step  kind     executed  waiting  sent  suppressed  failed  label / reasons');
  for (const s of report.steps) {
    const reasons = Object.entries(s.suppressedReasons)
      .map(([r, n]) => `${r}: ${n}`)
      .join(', ');
    lines.push(
      `${String(s.version).padStart(3)}  ${String(s.index).padStart(4)}  ${s.kind.padEnd(7)}  ${String(s.executed).padStart(8)}  ${String(s.waiting).padStart(7)}  ${String(s.sent).padStart(4)}  ${String(s.suppressed).padStart(10)}  ${String(s.failed).padStart(6)}  ${s.label ?? ''}${reasons ? ` [${reasons}]` : ''}`,
    );
  }
  if (report.goal) {
    const g = report.goal;
    lines.push('');
    lines.push(`Goal: ${g.kind} within ${g.windowDays} days of the trigger`);
    lines.push(`  in the flow  ${g.treated.converted}/${g.treated.customers} = ${pct(g.treated.rate)}`);
    lines.push(`  held out     ${g.holdout.converted}/${g.holdout.customers} = ${pct(g.holdout.rate)}`);
    if (g.difference) {
      lines.push(
        `  lift ${pct(g.difference.value)} (95 % CI ${pct(g.difference.lower)} to ${pct(g.difference.upper)}), p = ${g.pValue?.toFixed(4) ?? '—'}`,
      );
    } else lines.push('  lift — (no holdout yet)');
  }
  return lines.join('\n');
}
