import { type Expression, type RawBuilder, sql } from 'kysely';
import type { Database, Role } from '../db/index.ts';
import { KizunaError } from '../errors.ts';
import { type Permission, roleCan } from './roles.ts';

/**
 * Who is calling: a signed-in staff member (a person), an API token (an integration), or the operator at
 * the command line. `storeIds` is the store scope: null means every store.
 */
export type Actor = {
  kind: 'staff' | 'token' | 'cli';
  staffId: number | null;
  tokenId: number | null;
  name: string;
  role: Role;
  storeIds: readonly number[] | null;
};

/** The operator at the command line: the owner of the machine, every store. */
export const CLI_ACTOR: Actor = {
  kind: 'cli',
  staffId: null,
  tokenId: null,
  name: 'command line',
  role: 'owner',
  storeIds: null,
};

export class ForbiddenError extends KizunaError {
  constructor(message: string, code = 'forbidden') {
    super(code, message, { status: 403 });
  }
}

export function requirePermission(actor: Actor, permission: Permission): void {
  if (!roleCan(actor.role, permission)) {
    throw new ForbiddenError(`Your role (${actor.role}) does not allow ${permission}`);
  }
}

/**
 * True where the customer whose id is `customerId` belongs to one of the actor's stores: their home
 * store, or a store where they bought or contacted us. One definition, used for single customers and
 * for search, so that what staff can open and what they can find never differ.
 */
export function customerInStores(actor: Actor, customerId: Expression<unknown>): RawBuilder<boolean> {
  if (actor.storeIds === null) return sql<boolean>`true`;
  const stores = [...actor.storeIds];
  return sql<boolean>`(
    exists (select 1 from customers scope_c where scope_c.id = ${customerId} and scope_c.home_store_id = any(${stores}::bigint[]))
    or exists (select 1 from orders scope_o where scope_o.customer_id = ${customerId} and scope_o.store_id = any(${stores}::bigint[]))
    or exists (select 1 from interactions scope_i where scope_i.customer_id = ${customerId} and scope_i.store_id = any(${stores}::bigint[])))`;
}

/** Throws 403 unless the customer belongs to one of the actor's stores. */
export async function requireCustomerInScope(
  database: Database,
  actor: Actor,
  customerId: number,
): Promise<void> {
  if (actor.storeIds === null) return;
  const row = await sql<{
    visible: boolean;
  }>`select ${customerInStores(actor, sql`${customerId}::bigint`)} as visible`.execute(database.db);
  if (!row.rows[0]?.visible) {
    throw new ForbiddenError(
      `Customer ${customerId} is not a customer of your stores (home store, purchases or contacts there)`,
      'customer_out_of_scope',
    );
  }
}
