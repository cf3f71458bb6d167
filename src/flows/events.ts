import { z } from 'zod';
import { invalidRequest } from '../api/validation.ts';
import { type Actor, requireCustomerInScope } from '../auth/index.ts';
import type { Database } from '../db/index.ts';
import { KizunaError } from '../errors.ts';

/** A custom event (POST /api/events): a flow with trigger {type: 'event', name} picks it up at its next scan. */
export const EventInput = z.strictObject({
  customerId: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
  name: z
    .string()
    .trim()
    .min(1)
    .max(100)
    .describe('the event name a flow trigger listens for, e.g. "attended_signing"'),
  data: z.record(z.string(), z.unknown()).optional().describe('anything; templates see it as trigger.*'),
  occurredAt: z.iso.datetime({ offset: true }).optional().describe('default now'),
});

export async function recordEvent(
  database: Database,
  actor: Actor,
  input: unknown,
  now: Date = new Date(),
): Promise<{ id: number; customerId: number; name: string; occurredAt: Date }> {
  const parsed = EventInput.safeParse(input);
  if (!parsed.success) throw invalidRequest(parsed.error);
  const { customerId, name, data, occurredAt } = parsed.data;
  const customer = await database.db
    .selectFrom('customers')
    .select(['id', 'merged_into_customer_id', 'erased_at'])
    .where('id', '=', customerId)
    .executeTakeFirst();
  if (!customer || customer.erased_at) {
    throw new KizunaError('not_found', `customerId: no customer ${customerId}`, {
      field: 'customerId',
      status: 404,
    });
  }
  await requireCustomerInScope(database, actor, customerId);
  // An event for a merged record belongs to the customer it was merged into.
  const target = customer.merged_into_customer_id ? Number(customer.merged_into_customer_id) : customerId;
  const at = occurredAt ? new Date(occurredAt) : now;
  const row = await database.db
    .insertInto('flow_events')
    .values({ customer_id: target, name, data: JSON.stringify(data ?? {}), occurred_at: at })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { id: Number(row.id), customerId: target, name, occurredAt: at };
}
