import { z } from 'zod';
import { type Actor, ForbiddenError } from '../auth/index.ts';
import type { Database } from '../db/index.ts';
import { KizunaError } from '../errors.ts';
import { isUniqueViolation } from './database-errors.ts';

export type Store = { id: number; code: string; name: string; timezone: string; createdAt: Date };

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

export const StoreCode = z
  .string()
  .trim()
  .min(1)
  .max(50)
  .regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . - only');

export const StoreInput = z.object({
  code: StoreCode,
  name: z.string().trim().min(1).max(200),
  timezone: z
    .string()
    .trim()
    .refine(isTimeZone, 'must be an IANA time zone, e.g. Asia/Tokyo')
    .optional()
    .describe('default Asia/Tokyo'),
});
export type StoreInput = z.output<typeof StoreInput>;

export const StorePatch = StoreInput.required().partial();
export type StorePatch = z.output<typeof StorePatch>;

const COLUMNS = ['id', 'code', 'name', 'timezone', 'created_at'] as const;

type StoreRow = { id: number; code: string; name: string; timezone: string; created_at: Date };
const toStore = (row: StoreRow): Store => ({
  id: row.id,
  code: row.code,
  name: row.name,
  timezone: row.timezone,
  createdAt: row.created_at,
});

const codeTaken = (code: string) =>
  new KizunaError('store_code_taken', `A store with code ${code} exists`, { field: 'code', status: 409 });

export async function listStores(database: Database): Promise<Store[]> {
  const rows = await database.db.selectFrom('stores').select(COLUMNS).orderBy('code').execute();
  return rows.map(toStore);
}

export async function getStore(database: Database, storeId: number): Promise<Store> {
  const row = await database.db
    .selectFrom('stores')
    .select(COLUMNS)
    .where('id', '=', storeId)
    .executeTakeFirst();
  if (!row) throw new KizunaError('store_not_found', `No store with id ${storeId}`, { status: 404 });
  return toStore(row);
}

/** An account limited to some stores must not create stores nor edit the others' (it manages its own). */
function requireAllStores(actor: Actor, storeId?: number): void {
  if (actor.storeIds === null) return;
  if (storeId !== undefined && actor.storeIds.includes(storeId)) return;
  throw new ForbiddenError(
    storeId === undefined
      ? 'Only an account for every store may create stores'
      : `Store ${storeId} is not one of your stores`,
    'store_out_of_scope',
  );
}

export async function createStore(database: Database, actor: Actor, input: StoreInput): Promise<Store> {
  requireAllStores(actor);
  const row = await database.db
    .insertInto('stores')
    .values({ code: input.code, name: input.name, ...(input.timezone ? { timezone: input.timezone } : {}) })
    .onConflict((oc) => oc.column('code').doNothing())
    .returning(COLUMNS)
    .executeTakeFirst();
  if (!row) throw codeTaken(input.code);
  return toStore(row);
}

export async function updateStore(
  database: Database,
  actor: Actor,
  storeId: number,
  patch: StorePatch,
): Promise<Store> {
  requireAllStores(actor, storeId);
  if (Object.keys(patch).length === 0) return getStore(database, storeId);
  try {
    const row = await database.db
      .updateTable('stores')
      .set(patch)
      .where('id', '=', storeId)
      .returning(COLUMNS)
      .executeTakeFirst();
    if (!row) throw new KizunaError('store_not_found', `No store with id ${storeId}`, { status: 404 });
    return toStore(row);
  } catch (error) {
    if (isUniqueViolation(error, 'stores_code_key')) throw codeTaken(patch.code ?? '');
    throw error;
  }
}
