import { sql } from 'kysely';
import { CLI_ACTOR } from '../auth/index.ts';
import { checkContactPolicy } from '../campaigns/contact-policy.ts';
import type { Database } from '../db/index.ts';
import { memberIdsQuery, type RuleNode, withDatabaseFacts } from '../segments/index.ts';
import type { Clock } from './clock.ts';
import { type FlowDefinition, type Step, targetIndex, type WaitStep } from './definition.ts';
import { loadDefinitions } from './flows.ts';
import { DEFAULT_TIMEZONE, nextLocalTime } from './local-time.ts';
import type { StepMail, StepMailer } from './mailer.ts';
import { backoffMs, type ClaimedJob, claimJobs, LeaseLostError } from './scheduler.ts';

/**
 * The flow engine: runs claimed jobs, a batch at a time and set-based per (flow version, step): before each
 * step the goal is checked (a customer who reached it leaves the flow); then the step runs — wait
 * (schedules the next step), send (contact policy, then the mail), branch (a segment rule tree, one
 * statement for the batch), task, tag, exit. Every effect of the batch (touches, tasks, tags, step events,
 * the next jobs, the enrollments' state) and the jobs' completion are written in ONE transaction, and only
 * while this worker still holds the jobs: a step's effect is committed at most once.
 *
 * The SMTP send happens before that transaction (a mail server is not part of it): a worker killed
 * between the SMTP answer and the commit leaves its jobs 'running'; after the lease the step runs again
 * and the mail goes again with the same Message-ID (at-least-once delivery, exactly-once touch log —
 * as campaigns). A worker killed before the send leaves nothing sent: the step then runs once.
 */
export type EngineOptions = {
  clock: Clock;
  mailer: StepMailer;
  workerId?: string;
  batchSize?: number;
  leaseMs?: number;
  /** Delivery attempts for transient SMTP errors before the step is recorded as failed. */
  maxAttempts?: number;
  retryBaseMs?: number;
  /** Test hooks: called after the claim and after the mails went (throw to simulate a crash). */
  hooks?: { afterClaim?(jobs: ClaimedJob[]): void | Promise<void>; afterSend?(): void | Promise<void> };
};

export type BatchTimings = {
  claim: number;
  goal: number;
  steps: number;
  policy: number;
  mail: number;
  record: number;
};

export type BatchResult = {
  claimed: number;
  executed: number;
  retried: number;
  lags: number[];
  /** Milliseconds spent claiming, checking goals, running the steps (policy, mail) and recording. */
  /** Milliseconds spent in each phase of the batch (policy and mail are parts of steps). */
  timings?: BatchTimings;
};

type StepEvent = { kind: string; outcome: string; reason?: string | null; touchKey?: string };
type Next =
  | { type: 'step'; index: number; due: Date }
  | { type: 'finish'; state: 'completed' | 'exited' | 'goal' | 'cancelled'; reason?: string }
  | { type: 'retry'; due: Date; error: string };
type Outcome = {
  job: ClaimedJob;
  events: StepEvent[];
  next: Next;
  touch?: { key: string; subject: string | null; cost: number };
  task?: { title: string; prompt: string | null; dueAt: Date; assignToOwner: boolean };
};

const DAY = 86_400_000;

function groupBy<T>(items: readonly T[], keyOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = keyOf(item);
    const group = groups.get(k);
    if (group) group.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}
const key = (flowId: number, version: number) => `${flowId}:${version}`;

/** Which of `ids` satisfy `rules` now (one statement). */
async function matching(
  database: Database,
  rules: RuleNode,
  ids: readonly number[],
  now: Date,
): Promise<Set<number>> {
  const scope = await withDatabaseFacts(database, { asOf: now, actor: CLI_ACTOR });
  const { rows } = await sql<{ id: number }>`
    select m.id from (${memberIdsQuery(rules, scope)}) m where m.id = any(${[...ids]}::bigint[])`.execute(
    database.db,
  );
  return new Set(rows.map((r) => Number(r.id)));
}

/** The enrollments (of `jobs`) whose customer bought after the trigger occurrence, up to now. */
async function boughtSinceEntry(
  database: Database,
  jobs: readonly ClaimedJob[],
  now: Date,
): Promise<Set<number>> {
  const { rows } = await sql<{ id: number }>`
    select e.id from flow_enrollments e
    join unnest(${jobs.map((j) => j.customerId)}::bigint[], ${jobs.map((j) => j.enrollmentId)}::bigint[]) as k(c, e)
      on e.customer_id = k.c and e.id = k.e
    where exists (select 1 from orders o where o.customer_id = e.customer_id
      and o.ordered_at > coalesce((e.trigger_data ->> 'occurredAt')::timestamptz, e.entered_at)
      and o.ordered_at <= ${now})`.execute(database.db);
  return new Set(rows.map((r) => Number(r.id)));
}

async function timezones(database: Database, ids: readonly number[]): Promise<Map<number, string>> {
  const { rows } = await sql<{ id: number; tz: string | null }>`
    select c.id, s.timezone as tz from customers c left join stores s on s.id = c.home_store_id
    where c.id = any(${[...ids]}::bigint[])`.execute(database.db);
  return new Map(rows.map((r) => [Number(r.id), r.tz ?? DEFAULT_TIMEZONE]));
}

/** When a wait that starts at `from` ends. */
export function waitEnd(
  step: WaitStep,
  from: Date,
  job: Pick<ClaimedJob, 'triggerData'>,
  timezone: string,
): Date {
  let ms = from.getTime();
  if (step.cycle) {
    const occurred = job.triggerData.occurredAt ? new Date(String(job.triggerData.occurredAt)).getTime() : ms;
    const cycle = Number(
      job.triggerData.cycleDays ?? job.triggerData.intervalDays ?? step.cycle.fallbackDays,
    );
    ms = Math.max(ms, occurred + (cycle - step.cycle.beforeDays) * DAY);
  }
  ms += (step.days ?? 0) * DAY + (step.hours ?? 0) * 3_600_000 + (step.minutes ?? 0) * 60_000;
  if (step.until) return nextLocalTime(new Date(ms - 1), timezone, step.until.time, step.until.weekday);
  return new Date(ms);
}

function advance(definition: FlowDefinition, index: number, due: Date): Next {
  if (index < 0) return { type: 'finish', state: 'exited', reason: 'branch_exit' };
  if (index >= definition.steps.length) return { type: 'finish', state: 'completed' };
  return { type: 'step', index, due };
}

/** Runs one step for a group of jobs at the same (flow, version, step). */
async function runStep(
  database: Database,
  definition: FlowDefinition,
  flowName: string,
  step: Step,
  jobs: ClaimedJob[],
  options: Required<Pick<EngineOptions, 'mailer' | 'maxAttempts' | 'retryBaseMs'>> & {
    timings: BatchTimings;
  },
  now: Date,
): Promise<Outcome[]> {
  const index = jobs[0]!.stepIndex;
  const ids = jobs.map((j) => j.customerId);
  switch (step.kind) {
    case 'wait': {
      const zones = step.until ? await timezones(database, ids) : new Map<number, string>();
      const fallback = definition.timezone ?? DEFAULT_TIMEZONE;
      return jobs.map((job) => {
        const due = waitEnd(step, job.dueAt, job, zones.get(job.customerId) ?? fallback);
        return {
          job,
          events: [{ kind: 'wait', outcome: 'waited' }],
          next: advance(definition, index + 1, due),
        };
      });
    }
    case 'branch': {
      const yes = await matching(database, step.rules as RuleNode, ids, now);
      return jobs.map((job) => {
        const matched = yes.has(job.customerId);
        const to = targetIndex(definition, index, matched ? step.ifMatch : step.otherwise);
        return {
          job,
          events: [{ kind: 'branch', outcome: matched ? 'branch_then' : 'branch_else' }],
          next: advance(definition, to, now),
        };
      });
    }
    case 'task':
      return jobs.map((job) => ({
        job,
        events: [{ kind: 'task', outcome: 'task_created' }],
        task: {
          title: step.title,
          prompt: step.prompt ?? null,
          dueAt: new Date(now.getTime() + step.dueDays * DAY),
          assignToOwner: step.assignTo === 'account_owner',
        },
        next: advance(definition, index + 1, now),
      }));
    case 'tag':
      return jobs.map((job) => ({
        job,
        events: [{ kind: 'tag', outcome: 'tagged' }],
        next: advance(definition, index + 1, now),
      }));
    case 'exit':
      return jobs.map((job) => ({
        job,
        events: [{ kind: 'exit', outcome: 'exited', reason: step.reason ?? null }],
        next: { type: 'finish', state: 'exited', reason: step.reason ?? 'exit_step' },
      }));
    case 'send': {
      const policyStarted = performance.now();
      const answers = await checkContactPolicy(database, {
        customerIds: ids,
        channel: 'email',
        purpose: step.purpose,
        now,
      });
      options.timings.policy += performance.now() - policyStarted;
      const outcomes: Outcome[] = [];
      const allowed: ClaimedJob[] = [];
      for (const job of jobs) {
        const refusal = answers.get(job.customerId);
        if (refusal) {
          outcomes.push({
            job,
            events: [{ kind: 'send', outcome: 'suppressed', reason: refusal.reason }],
            next: advance(definition, index + 1, now),
          });
        } else allowed.push(job);
      }
      if (allowed.length === 0) return outcomes;
      const mails: StepMail[] = allowed.map((job) => ({
        customerId: job.customerId,
        enrollmentId: job.enrollmentId,
        flowId: job.flowId,
        flowName,
        version: job.version,
        stepIndex: index,
        step,
        triggerData: job.triggerData,
      }));
      const mailStarted = performance.now();
      const delivered = await options.mailer.send(mails);
      options.timings.mail += performance.now() - mailStarted;
      const byEnrollment = new Map(delivered.map((d) => [d.enrollmentId, d]));
      for (const job of allowed) {
        const d = byEnrollment.get(job.enrollmentId);
        const touchKey = `flow:${job.enrollmentId}:${index}`;
        if (d?.outcome === 'sent') {
          outcomes.push({
            job,
            events: [{ kind: 'send', outcome: 'sent', touchKey }],
            touch: { key: touchKey, subject: d.subject, cost: step.cost },
            next: advance(definition, index + 1, now),
          });
        } else if (d?.outcome === 'transient' && job.attempts < options.maxAttempts) {
          outcomes.push({
            job,
            events: [],
            next: {
              type: 'retry',
              due: new Date(now.getTime() + backoffMs(job.attempts, options.retryBaseMs)),
              error: d.error ?? 'transient',
            },
          });
        } else {
          const reason = d ? `${d.outcome}:${d.error ?? ''}`.slice(0, 300) : 'not_delivered';
          outcomes.push({
            job,
            events: [{ kind: 'send', outcome: d?.outcome === 'bounced' ? 'bounced' : 'failed', reason }],
            next: advance(definition, index + 1, now),
          });
        }
      }
      return outcomes;
    }
  }
}

/** Claims one batch of due jobs and runs it; returns what it did (0 claimed: nothing was due). */
export async function runBatch(database: Database, options: EngineOptions): Promise<BatchResult> {
  const now = options.clock.now();
  const workerId = options.workerId ?? `worker-${process.pid}`;
  const t0 = performance.now();
  const jobs = await claimJobs(database, {
    workerId,
    now,
    limit: options.batchSize ?? 500,
    leaseMs: options.leaseMs ?? 300_000,
  });
  if (jobs.length === 0) return { claimed: 0, executed: 0, retried: 0, lags: [] };
  await options.hooks?.afterClaim?.(jobs);
  const t1 = performance.now();
  const definitions = await loadDefinitions(database, [
    ...new Map(
      jobs.map((j) => [key(j.flowId, j.version), { flowId: j.flowId, version: j.version }]),
    ).values(),
  ]);
  const names = new Map(
    (await database.db.selectFrom('flows').select(['id', 'name']).execute()).map((f) => [
      Number(f.id),
      f.name,
    ]),
  );
  const outcomes: Outcome[] = [];
  const live: ClaimedJob[] = [];
  for (const job of jobs) {
    if (job.enrollmentState !== 'active') {
      outcomes.push({ job, events: [], next: { type: 'finish', state: 'cancelled' } });
    } else live.push(job);
  }
  // The goal, before each step.
  const reached = new Set<number>();
  const byVersion = groupBy(live, (j) => key(j.flowId, j.version));
  for (const [k, group] of byVersion) {
    const goal = definitions.get(k)?.goal;
    if (!goal) continue;
    if (goal.kind === 'purchase') {
      for (const id of await boughtSinceEntry(database, group, now)) reached.add(id);
    } else {
      const yes = await matching(
        database,
        goal.rules,
        group.map((j) => j.customerId),
        now,
      );
      for (const j of group) if (yes.has(j.customerId)) reached.add(j.enrollmentId);
    }
  }
  const t2 = performance.now();
  const timings: BatchTimings = { claim: t1 - t0, goal: t2 - t1, steps: 0, policy: 0, mail: 0, record: 0 };
  const stepping: ClaimedJob[] = [];
  for (const job of live) {
    if (reached.has(job.enrollmentId)) {
      outcomes.push({
        job,
        events: [{ kind: 'goal', outcome: 'goal_reached' }],
        next: { type: 'finish', state: 'goal', reason: 'goal' },
      });
    } else stepping.push(job);
  }
  const groups = groupBy(stepping, (j) => `${key(j.flowId, j.version)}:${j.stepIndex}`);
  const tagSteps: Array<{ step: Extract<Step, { kind: 'tag' }>; ids: number[] }> = [];
  for (const group of groups.values()) {
    const first = group[0]!;
    const definition = definitions.get(key(first.flowId, first.version));
    const step = definition?.steps[first.stepIndex];
    if (!definition || !step) {
      for (const job of group)
        outcomes.push({ job, events: [], next: { type: 'finish', state: 'completed' } });
      continue;
    }
    const done = await runStep(
      database,
      definition,
      names.get(first.flowId) ?? `flow ${first.flowId}`,
      step,
      group,
      {
        mailer: options.mailer,
        maxAttempts: options.maxAttempts ?? 5,
        retryBaseMs: options.retryBaseMs ?? 60_000,
        timings,
      },
      now,
    );
    if (step.kind === 'tag') tagSteps.push({ step, ids: group.map((j) => j.customerId) });
    outcomes.push(...done);
  }
  await options.hooks?.afterSend?.();
  const t3 = performance.now();
  await record(database, outcomes, tagSteps, names, workerId, now);
  const finished = Date.now();
  timings.steps = t3 - t2;
  timings.record = performance.now() - t3;
  return {
    claimed: jobs.length,
    executed: outcomes.filter((o) => o.next.type !== 'retry').length,
    retried: outcomes.filter((o) => o.next.type === 'retry').length,
    lags: outcomes.map((o) => finished - o.job.dueAt.getTime()),
    timings,
  };
}

/** Writes a batch's effects and finishes its jobs, in one transaction, while this worker holds them. */
async function record(
  database: Database,
  outcomes: readonly Outcome[],
  tagSteps: ReadonlyArray<{ step: Extract<Step, { kind: 'tag' }>; ids: number[] }>,
  names: Map<number, string>,
  workerId: string,
  now: Date,
): Promise<void> {
  const customerIds = outcomes.map((o) => o.job.customerId);
  const jobIds = outcomes.map((o) => o.job.jobId);
  const retries = outcomes.filter((o) => o.next.type === 'retry');
  await database.transaction(async (tx) => {
    const finished = await sql<{ id: number }>`
      update flow_jobs j set state = 'done', finished_at = ${now}, locked_until = null
      from unnest(${customerIds}::bigint[], ${jobIds}::bigint[]) as k(c, i)
      where j.customer_id = k.c and j.id = k.i and j.state = 'running' and j.locked_by = ${workerId}
      returning j.id`.execute(tx.db);
    if (finished.rows.length !== outcomes.length) {
      throw new LeaseLostError(outcomes.length - finished.rows.length);
    }
    if (retries.length > 0) {
      await sql`
        update flow_jobs j set state = 'pending', finished_at = null, locked_by = null, locked_until = null,
          due_at = k.due, last_error = k.err
        from unnest(${retries.map((o) => o.job.customerId)}::bigint[], ${retries.map((o) => o.job.jobId)}::bigint[],
          ${retries.map((o) => (o.next as { due: Date }).due.toISOString())}::timestamptz[],
          ${retries.map((o) => (o.next as { error: string }).error)}::text[]) as k(c, i, due, err)
        where j.customer_id = k.c and j.id = k.i`.execute(tx.db);
    }
    const touches = outcomes.filter((o) => o.touch);
    const touchIds = new Map<string, number>();
    if (touches.length > 0) {
      const rows = await tx.db
        .insertInto('touches')
        .values(
          touches.map((o) => ({
            customer_id: o.job.customerId,
            external_id: o.touch!.key,
            channel: 'step_mail' as const,
            flow: names.get(o.job.flowId) ?? null,
            subject: o.touch!.subject?.slice(0, 500) ?? null,
            cost: o.touch!.cost,
            sent_at: now,
          })),
        )
        .returning(['id', 'external_id'])
        .execute();
      for (const r of rows) touchIds.set(r.external_id!, Number(r.id));
    }
    const events = outcomes.flatMap((o) =>
      o.events.map((e) => ({
        customer_id: o.job.customerId,
        enrollment_id: o.job.enrollmentId,
        flow_id: o.job.flowId,
        version: o.job.version,
        step_index: e.kind === 'goal' ? null : o.job.stepIndex,
        kind: e.kind,
        outcome: e.outcome,
        reason: e.reason ?? null,
        touch_id: e.touchKey ? (touchIds.get(e.touchKey) ?? null) : null,
        at: now,
      })),
    );
    if (events.length > 0) {
      // One statement of arrays (not a VALUES list of 11 parameters per row).
      await sql`
        insert into flow_step_events (customer_id, enrollment_id, flow_id, version, step_index, kind, outcome, reason, touch_id, at)
        select k.c, k.e, k.f, k.v, k.s, k.k, k.o, k.r, k.t, ${now}
        from unnest(${events.map((e) => e.customer_id)}::bigint[], ${events.map((e) => e.enrollment_id)}::bigint[],
          ${events.map((e) => e.flow_id)}::bigint[], ${events.map((e) => e.version)}::int[],
          ${events.map((e) => e.step_index)}::int[], ${events.map((e) => e.kind)}::text[],
          ${events.map((e) => e.outcome)}::text[], ${events.map((e) => e.reason)}::text[],
          ${events.map((e) => e.touch_id)}::bigint[]) as k(c, e, f, v, s, k, o, r, t)`.execute(tx.db);
    }
    const tasks = outcomes.filter((o) => o.task);
    if (tasks.length > 0) {
      await sql`
        insert into flow_tasks (customer_id, enrollment_id, flow_id, title, prompt, assignee_staff_id, due_at, created_at)
        select k.c, k.e, k.f, k.t, k.p, case when k.o then c.account_owner_staff_id end, k.d, ${now}
        from unnest(${tasks.map((o) => o.job.customerId)}::bigint[], ${tasks.map((o) => o.job.enrollmentId)}::bigint[],
          ${tasks.map((o) => o.job.flowId)}::bigint[], ${tasks.map((o) => o.task!.title)}::text[],
          ${tasks.map((o) => o.task!.prompt)}::text[], ${tasks.map((o) => o.task!.assignToOwner)}::boolean[],
          ${tasks.map((o) => o.task!.dueAt.toISOString())}::timestamptz[]) as k(c, e, f, t, p, o, d)
        join customers c on c.id = k.c
        on conflict (customer_id, enrollment_id, title) do nothing`.execute(tx.db);
    }
    for (const { step, ids } of tagSteps) {
      await sql`
        update customers set
          tags = array(select distinct t from unnest(tags || ${step.add ?? []}::text[]) as u(t)
                       where t <> all(${step.remove ?? []}::text[]) order by t),
          custom_fields = custom_fields || ${JSON.stringify(step.fields ?? {})}::jsonb,
          updated_at = ${now}
        where id = any(${ids}::bigint[])`.execute(tx.db);
    }
    const steps = outcomes.filter((o) => o.next.type === 'step');
    if (steps.length > 0) {
      const cs = steps.map((o) => o.job.customerId);
      const es = steps.map((o) => o.job.enrollmentId);
      const is = steps.map((o) => (o.next as { index: number }).index);
      await sql`
        insert into flow_jobs (customer_id, enrollment_id, step_index, due_at)
        select k.c, k.e, k.s, k.d
        from unnest(${cs}::bigint[], ${es}::bigint[], ${is}::int[],
          ${steps.map((o) => (o.next as { due: Date }).due.toISOString())}::timestamptz[]) as k(c, e, s, d)
        on conflict (customer_id, enrollment_id, step_index) do nothing`.execute(tx.db);
      await sql`
        update flow_enrollments e set step_index = k.s
        from unnest(${cs}::bigint[], ${es}::bigint[], ${is}::int[]) as k(c, i, s)
        where e.customer_id = k.c and e.id = k.i and e.state = 'active'`.execute(tx.db);
    }
    const ends = outcomes.filter((o) => o.next.type === 'finish' && o.job.enrollmentState === 'active');
    if (ends.length > 0) {
      await sql`
        update flow_enrollments e set state = k.s, exit_reason = k.r, finished_at = ${now}, step_index = null
        from unnest(${ends.map((o) => o.job.customerId)}::bigint[], ${ends.map((o) => o.job.enrollmentId)}::bigint[],
          ${ends.map((o) => (o.next as { state: string }).state)}::text[],
          ${ends.map((o) => (o.next as { reason?: string }).reason ?? null)}::text[]) as k(c, i, s, r)
        where e.customer_id = k.c and e.id = k.i and e.state = 'active'`.execute(tx.db);
    }
  });
}
