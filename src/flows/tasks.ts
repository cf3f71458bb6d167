import { sql } from 'kysely';
import { z } from 'zod';
import { invalidRequest } from '../api/validation.ts';
import { type Actor, customerInStores } from '../auth/index.ts';
import type { Database } from '../db/index.ts';
import { KizunaError } from '../errors.ts';

/**
 * Staff tasks created by flows ("thank this new loyal customer in person"): listed for the caller's
 * stores' customers, due first; done with an outcome (what the customer said). Purpose is always
 * follow-up — a flow never creates a sales call.
 */
export type FlowTask = {
  id: number;
  customerId: number;
  customerName: string | null;
  flowId: number;
  flowName: string;
  title: string;
  prompt: string | null;
  purpose: 'follow_up';
  assigneeStaffId: number | null;
  dueAt: Date;
  state: 'open' | 'done' | 'cancelled';
  outcome: string | null;
  doneAt: Date | null;
};

export const TaskQuery = z.object({
  state: z.enum(['open', 'done', 'cancelled']).optional().describe('default open'),
  mine: z.enum(['true', 'false']).optional().describe('only tasks assigned to the caller'),
  limit: z
    .string()
    .regex(/^\d{1,4}$/, 'a number up to 9999')
    .transform(Number)
    .optional(),
});
export const TaskDone = z.strictObject({
  outcome: z.string().trim().min(1).max(5000).describe('what came of it, e.g. what the customer said'),
});

type Row = {
  id: number;
  customer_id: number;
  customer_name: string | null;
  flow_id: number;
  flow_name: string;
  title: string;
  prompt: string | null;
  assignee_staff_id: number | null;
  due_at: Date;
  state: FlowTask['state'];
  outcome: string | null;
  done_at: Date | null;
};

const taskOf = (r: Row): FlowTask => ({
  id: Number(r.id),
  customerId: Number(r.customer_id),
  customerName: r.customer_name,
  flowId: Number(r.flow_id),
  flowName: r.flow_name,
  title: r.title,
  prompt: r.prompt,
  purpose: 'follow_up',
  assigneeStaffId: r.assignee_staff_id === null ? null : Number(r.assignee_staff_id),
  dueAt: r.due_at,
  state: r.state,
  outcome: r.outcome,
  doneAt: r.done_at,
});

export async function listFlowTasks(
  database: Database,
  actor: Actor,
  query: unknown = {},
): Promise<FlowTask[]> {
  const parsed = TaskQuery.safeParse(query);
  if (!parsed.success) throw invalidRequest(parsed.error);
  const { state = 'open', mine, limit = 200 } = parsed.data;
  const { rows } = await sql<Row>`
    select t.id, t.customer_id, c.name as customer_name, t.flow_id, f.name as flow_name, t.title, t.prompt,
      t.assignee_staff_id, t.due_at, t.state, t.outcome, t.done_at
    from flow_tasks t join customers c on c.id = t.customer_id join flows f on f.id = t.flow_id
    where t.state = ${state} and ${customerInStores(actor, sql.ref('t.customer_id'))}
      and (${mine !== 'true'} or t.assignee_staff_id = ${actor.staffId ?? -1})
    order by t.due_at, t.id limit ${Math.min(limit, 1000)}`.execute(database.db);
  return rows.map(taskOf);
}

export async function completeFlowTask(
  database: Database,
  actor: Actor,
  taskId: number,
  input: unknown,
  now: Date = new Date(),
): Promise<FlowTask> {
  const parsed = TaskDone.safeParse(input);
  if (!parsed.success) throw invalidRequest(parsed.error);
  const { rows } = await sql<{ customer_id: number; state: string }>`
    select t.customer_id, t.state from flow_tasks t
    where t.id = ${taskId} and ${customerInStores(actor, sql.ref('t.customer_id'))}`.execute(database.db);
  const task = rows[0];
  if (!task) throw new KizunaError('not_found', `No flow task ${taskId}`, { status: 404 });
  if (task.state !== 'open') {
    throw new KizunaError('conflict', `Flow task ${taskId} is ${task.state}`, { status: 409 });
  }
  await database.db
    .updateTable('flow_tasks')
    .set({ state: 'done', outcome: parsed.data.outcome, done_by_staff_id: actor.staffId, done_at: now })
    .where('customer_id', '=', Number(task.customer_id))
    .where('id', '=', taskId)
    .execute();
  const [done] = (await listFlowTasks(database, actor, { state: 'done', limit: '1000' })).filter(
    (t) => t.id === taskId,
  );
  return done!;
}
