import type { Database } from '../db/index.ts';
import { KizunaError } from '../errors.ts';

/**
 * New activity (orders, touches, interactions) may not be recorded for a customer who has been erased:
 * they exercised the right to be forgotten, and a till or mailer that still holds their id must not
 * start a new file on them. 409 as in the customer records (`customer_erased`).
 */
export async function requireNotErased(database: Database, customerId: number): Promise<void> {
  const row = await database.db
    .selectFrom('customers')
    .select('erased_at')
    .where('id', '=', customerId)
    .executeTakeFirst();
  if (row?.erased_at) {
    throw new KizunaError('customer_erased', `Customer ${customerId} has been erased`, { status: 409 });
  }
}
