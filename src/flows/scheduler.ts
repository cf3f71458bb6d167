import { sql } from 'kysely';
import type { Database } from '../db/index.ts';

/**
 * The durable scheduler: jobs live in flow_jobs, one per (enrollment, step) — the unique key is the
 * idempotency key, so a step can be scheduled only once per enrollment.
 *
 * Claiming: a worker takes due jobs with one UPDATE whose inner SELECT locks them FOR UPDATE SKIP LOCKED
 * (two workers on PostgreSQL never take the same job and never wait for each other), marks them 'running',
 * counts the attempt and sets a lease (locked_by, locked_until). PGlite is one connection in one process:
 * the same statement runs there unchanged (SKIP LOCKED has nobody to skip), and the lease is what makes a
 * restart safe on both engines.
 *
 * A worker that dies after claiming leaves its jobs 'running'; when the lease runs out, any worker claims
 * them again (attempts + 1). A job is finished only in the transaction that records its step's effect,
 * and only while the finishing worker still holds it (`locked_by`), so a step's effect is committed at
 * most once; see the engine for the SMTP send, which is at-least-once with a stable Message-ID.
 */
export type ClaimedJob = {
  customerId: number;
  jobId: number;
  enrollmentId: number;
  stepIndex: number;
  dueAt: Date;
  attempts: number;
  flowId: number;
  version: number;
  enrollmentState: string;
  enteredAt: Date;
  triggerData: Record<string, unknown>;
};

export type ClaimOptions = { workerId: string; now: Date; limit: number; leaseMs: number };

type Row = {
  customer_id: number;
  id: number;
  enrollment_id: number;
  step_index: number;
  due_at: Date;
  attempts: number;
  flow_id: number;
  version: number;
  enrollment_state: string;
  entered_at: Date;
  trigger_data: Record<string, unknown>;
};

async function claimWhere(
  database: Database,
  options: ClaimOptions,
  pick: ReturnType<typeof sql>,
): Promise<ClaimedJob[]> {
  const until = new Date(options.now.getTime() + options.leaseMs);
  const { rows } = await sql<Row>`
    update flow_jobs j
    set state = 'running', locked_by = ${options.workerId}, locked_until = ${until}, attempts = j.attempts + 1
    from flow_enrollments e, (${pick}) c
    where j.customer_id = c.customer_id and j.id = c.id
      and e.customer_id = j.customer_id and e.id = j.enrollment_id
    returning j.customer_id, j.id, j.enrollment_id, j.step_index, j.due_at, j.attempts,
      e.flow_id, e.version, e.state as enrollment_state, e.entered_at, e.trigger_data`.execute(database.db);
  return rows.map((r) => ({
    customerId: Number(r.customer_id),
    jobId: Number(r.id),
    enrollmentId: Number(r.enrollment_id),
    stepIndex: r.step_index,
    dueAt: r.due_at,
    attempts: r.attempts,
    flowId: Number(r.flow_id),
    version: r.version,
    enrollmentState: r.enrollment_state,
    enteredAt: r.entered_at,
    triggerData: r.trigger_data ?? {},
  }));
}

/**
 * Claims up to `limit` jobs: first those whose lease ran out (a dead worker's), then pending jobs that are
 * due, earliest first. Two statements, each served by its partial index.
 */
export async function claimJobs(database: Database, options: ClaimOptions): Promise<ClaimedJob[]> {
  const stale = await claimWhere(
    database,
    options,
    sql`select customer_id, id from flow_jobs
        where state = 'running' and locked_until < ${options.now}
        order by locked_until limit ${options.limit} for update skip locked`,
  );
  const room = options.limit - stale.length;
  if (room <= 0) return stale;
  const due = await claimWhere(
    database,
    options,
    sql`select customer_id, id from flow_jobs
        where state = 'pending' and due_at <= ${options.now}
        order by due_at limit ${room} for update skip locked`,
  );
  return [...stale, ...due];
}

/** When the next job is due (null when none waits): a worker sleeps until then. */
export async function nextDueAt(database: Database): Promise<Date | null> {
  const row = await database.db
    .selectFrom('flow_jobs')
    .select((eb) => eb.fn.min('due_at').as('at'))
    .where('state', '=', 'pending')
    .executeTakeFirst();
  return row?.at ? new Date(row.at as Date) : null;
}

/** Retry delay after `attempts` failed deliveries: base · 2^(attempts − 1), at most a day. */
export function backoffMs(attempts: number, baseMs: number): number {
  return Math.min(baseMs * 2 ** Math.max(0, attempts - 1), 86_400_000);
}

/** Thrown when a worker tries to finish jobs another worker has taken over (its lease ran out). */
export class LeaseLostError extends Error {
  constructor(lost: number) {
    super(`${lost} job(s) were taken over by another worker after the lease ran out; nothing recorded`);
  }
}
