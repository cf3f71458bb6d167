import { type Kysely, type Selectable, sql } from 'kysely';
import { type Actor, customerInStores } from '../auth/index.ts';
import type { CustomersTable, Database, Schema } from '../db/index.ts';
import { KizunaError } from '../errors.ts';
import { PERSONAL_DATA_EMPTIED } from './customer-records.ts';

/**
 * Duplicates and merging (MISSION §1: one customer, one file). The same person registered twice — at two
 * stores, once in the shop and once online — splits their history, their value and their consents. A
 * merge moves everything of the merged customer to the survivor in one transaction and leaves the merged
 * customer as an empty stub that points at the survivor, so that its old id and external id still lead
 * to the right file (findCustomer follows `merged_into_customer_id`).
 */

export const DEFAULT_DUPLICATE_LIMIT = 50;
export const MAX_DUPLICATE_LIMIT = 200;
/**
 * More customers than this sharing one e-mail or phone are a placeholder ("none@example.com", the
 * shop's own number), not one person registered twice; such groups are not offered as duplicates.
 */
export const MAX_DUPLICATE_GROUP = 10;
/** Phone numbers with fewer digits than this are too short to say two customers are one person. */
const MIN_DUPLICATE_PHONE_DIGITS = 7;

export type DuplicateReason = 'email' | 'phone' | 'name';

export type DuplicateCustomer = {
  id: number;
  external_id: string | null;
  name: string | null;
  name_kana: string | null;
  email: string | null;
  phone: string | null;
  home_store_id: number | null;
  created_at: string;
};

export type DuplicateCandidate = {
  customers: [DuplicateCustomer, DuplicateCustomer];
  /** What the two share: e-mail (any case), phone (same digits), or the same name and kana name. */
  reasons: DuplicateReason[];
};

/**
 * Pairs of live customers in the actor's stores that may be one person, those sharing the most first.
 * One pass over the customers (a window count per key, then a self-join inside each small group).
 */
export async function findDuplicateCandidates(
  database: Database,
  actor: Actor,
  limit = DEFAULT_DUPLICATE_LIMIT,
): Promise<DuplicateCandidate[]> {
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_DUPLICATE_LIMIT) {
    throw new KizunaError('invalid_request', `limit must be an integer from 1 to ${MAX_DUPLICATE_LIMIT}`, {
      field: 'limit',
    });
  }
  const live = sql`c.merged_into_customer_id is null and c.erased_at is null and ${customerInStores(actor, sql.ref('c.id'))}`;
  const pairs = await sql<{ a_id: number; b_id: number; reasons: DuplicateReason[] }>`
    with keys as (
      select c.id, 'email' as reason, lower(c.email) as key from customers c
        where c.email is not null and ${live}
      union all
      select c.id, 'phone', customer_phone_key(c.phone) from customers c
        where length(customer_phone_key(c.phone)) >= ${MIN_DUPLICATE_PHONE_DIGITS} and ${live}
      union all
      select c.id, 'name', customer_search_key(c.name) || '|' || customer_search_key(c.name_kana) from customers c
        where c.name is not null and c.name_kana is not null and ${live}
    ),
    groups as (
      select id, reason, key, count(*) over (partition by reason, key) as size from keys
    ),
    pairs as (
      select a.id as a_id, b.id as b_id, a.reason
      from groups a join groups b on b.reason = a.reason and b.key = a.key and b.id > a.id
      where a.size between 2 and ${MAX_DUPLICATE_GROUP}
    )
    select a_id, b_id, array_agg(distinct reason order by reason) as reasons
    from pairs group by a_id, b_id
    order by count(distinct reason) desc, a_id, b_id
    limit ${limit}`.execute(database.db);
  if (pairs.rows.length === 0) return [];
  const ids = [...new Set(pairs.rows.flatMap((p) => [p.a_id, p.b_id]))];
  const customers = await database.db
    .selectFrom('customers')
    .select(['id', 'external_id', 'name', 'name_kana', 'email', 'phone', 'home_store_id', 'created_at'])
    .where('id', 'in', ids)
    .execute();
  const byId = new Map(
    customers.map((c) => [
      c.id,
      { ...c, created_at: c.created_at.toISOString() } satisfies DuplicateCustomer,
    ]),
  );
  return pairs.rows.map((p) => ({ customers: [byId.get(p.a_id)!, byId.get(p.b_id)!], reasons: p.reasons }));
}

type Db = Kysely<Schema>;
type CustomerRow = Selectable<CustomersTable>;

/** Fields where the survivor's value wins when it has one, and the merged customer's fills the gap. */
const GAP_FILLED_FIELDS = [
  'external_id',
  'name',
  'name_kana',
  'email',
  'phone',
  'postal_code',
  'address',
  'birth_date',
  'acquisition_source',
  'referred_by_customer_id',
  'account_owner_staff_id',
  'home_store_id',
] as const;

/**
 * - `same`: both had this value (or neither had one);
 * - `kept`: only the survivor had a value;
 * - `gained`: only the merged customer had one, the survivor takes it;
 * - `survivor_wins`: both had different values; the survivor's stays and the merged one's is not kept;
 * - `combined`: tags (union), custom fields (survivor's win per key), do-not-contact (either), first seen;
 * - `cleared`: the survivor was referred by the merged customer, which would now be a self-referral.
 */
export type FieldOutcome = 'same' | 'kept' | 'gained' | 'survivor_wins' | 'combined' | 'cleared';
export type FieldMerge = {
  field: string;
  survivor: unknown;
  merged: unknown;
  result: unknown;
  outcome: FieldOutcome;
};

/** Rows that move to the survivor, per table, and the derived rows deleted (the next refresh recomputes them). */
export type MergePlan = {
  survivor_id: number;
  merged_id: number;
  moves: Record<string, number>;
  recomputed: Record<string, number>;
  fields: FieldMerge[];
};

/** Per-customer results of analytics: not moved; recomputed by the next refresh. */
const DERIVED_TABLES = ['customer_measures', 'customer_clv', 'tier_snapshots'] as const;
/**
 * Of those, deleted for the merged customer by the merge. Its measures row is left to the measures
 * refresh, which removes the rows of merged customers itself and keeps its buyer counts in step as it
 * does: deleted here, it would make the next refresh a full one (12 s instead of 2 at 1 M customers).
 */
const DELETED_ON_MERGE = ['customer_clv', 'tier_snapshots'] as const;
/**
 * Records of a past moment — who was in a segment snapshot, the audience a campaign went to, the flows the
 * record entered (and the staff tasks those flows made) — keep the id they named: rewriting them would
 * change what was true then, and both customers may hold the same key (one recipient row per campaign, one
 * enrollment per flow and occurrence). The merged stub redirects to the survivor; the contact policy
 * refuses any later step for the stub ('merged'), so its flows end without a message.
 */
const FROZEN_TABLES = [
  'segment_snapshot_members',
  'campaign_recipients',
  'flow_enrollments',
  'flow_tasks',
] as const;
const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

type CustomerReference = { table: string; column: string };

/**
 * Every column that references a customer, read from the catalog, so that a table added later is moved
 * too instead of being silently left behind (or blocking the merge through its foreign key).
 */
async function customerReferences(db: Db): Promise<CustomerReference[]> {
  const result = await sql<CustomerReference>`
    select c.conrelid::regclass::text as table, a.attname as column
    from pg_constraint c
    join pg_attribute a on a.attrelid = c.conrelid and a.attnum = c.conkey[1]
    where c.contype = 'f' and c.confrelid = 'customers'::regclass and array_length(c.conkey, 1) = 1
    order by 1, 2`.execute(db);
  for (const ref of result.rows) {
    if (!IDENTIFIER.test(ref.table) || !IDENTIFIER.test(ref.column)) {
      throw new Error(`unexpected customer reference ${ref.table}.${ref.column}`);
    }
  }
  return result.rows;
}

/** Tables whose rows move: orders first (their lines and returns follow through ON UPDATE CASCADE). */
function movedTables(refs: CustomerReference[]): CustomerReference[] {
  const kept: readonly string[] = [...DERIVED_TABLES, ...FROZEN_TABLES];
  const moved = refs.filter((r) => r.table !== 'customers' && !kept.includes(r.table));
  return moved.sort((a, b) => Number(b.table === 'orders') - Number(a.table === 'orders'));
}

async function countWhere(db: Db, table: string, column: string, customerId: number): Promise<number> {
  const result = await sql<{
    n: number;
  }>`select count(*)::int as n from ${sql.table(table)} where ${sql.ref(column)} = ${customerId}`.execute(db);
  return result.rows[0]!.n;
}

async function loadPair(db: Db, survivorId: number, mergedId: number, lock: boolean) {
  let query = db.selectFrom('customers').selectAll().where('id', 'in', [survivorId, mergedId]).orderBy('id');
  // Locking both rows (in id order, so two merges cannot deadlock) also blocks new orders, touches… for
  // them until the merge commits: inserting a row that references a customer takes a key-share lock.
  if (lock) query = query.forUpdate();
  const rows = await query.execute();
  const survivor = rows.find((r) => r.id === survivorId);
  const merged = rows.find((r) => r.id === mergedId);
  if (!survivor)
    throw new KizunaError('customer_not_found', `No customer with id ${survivorId}`, { status: 404 });
  if (!merged) {
    throw new KizunaError('customer_not_found', `No customer with id ${mergedId}`, {
      field: 'other',
      status: 404,
    });
  }
  const reasons: string[] = [];
  if (survivorId === mergedId) reasons.push('a customer cannot be merged into itself');
  const state = (label: string, row: typeof survivor) => {
    if (row.merged_into_customer_id !== null) {
      reasons.push(`${label} ${row.id} is already merged into customer ${row.merged_into_customer_id}`);
    }
    if (row.erased_at !== null) reasons.push(`${label} ${row.id} has been erased`);
  };
  state('customer', survivor);
  if (survivorId !== mergedId) state('customer', merged);
  if (reasons.length > 0) {
    throw new KizunaError('merge_refused', `Cannot merge: ${reasons.join('; ')}`, { status: 409 });
  }
  return { survivor, merged };
}

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function fieldPlan(survivor: CustomerRow, merged: CustomerRow): FieldMerge[] {
  const fields: FieldMerge[] = [];
  for (const field of GAP_FILLED_FIELDS) {
    let s = survivor[field] ?? null;
    let m = merged[field] ?? null;
    let cleared = false;
    if (field === 'referred_by_customer_id') {
      // Neither may end up referring the survivor to itself.
      if (m === survivor.id) m = null;
      if (s === merged.id) {
        s = null;
        cleared = true;
      }
    }
    const result = s ?? m;
    const outcome: FieldOutcome = cleared
      ? m === null
        ? 'cleared'
        : 'gained'
      : sameValue(s, m)
        ? 'same'
        : m === null
          ? 'kept'
          : s === null
            ? 'gained'
            : 'survivor_wins';
    fields.push({ field, survivor: survivor[field] ?? null, merged: merged[field] ?? null, result, outcome });
  }
  const tags = [...new Set([...survivor.tags, ...merged.tags])];
  fields.push({
    field: 'tags',
    survivor: survivor.tags,
    merged: merged.tags,
    result: tags,
    outcome: 'combined',
  });
  const customFields = { ...merged.custom_fields, ...survivor.custom_fields };
  fields.push({
    field: 'custom_fields',
    survivor: survivor.custom_fields,
    merged: merged.custom_fields,
    result: customFields,
    outcome: 'combined',
  });
  // Either record saying "do not contact" is a wish we must keep honouring.
  fields.push({
    field: 'do_not_contact',
    survivor: survivor.do_not_contact,
    merged: merged.do_not_contact,
    result: survivor.do_not_contact || merged.do_not_contact,
    outcome: 'combined',
  });
  // The relationship began when the earlier record was made.
  const firstSeen = survivor.created_at <= merged.created_at ? survivor.created_at : merged.created_at;
  fields.push({
    field: 'created_at',
    survivor: survivor.created_at.toISOString(),
    merged: merged.created_at.toISOString(),
    result: firstSeen.toISOString(),
    outcome: 'combined',
  });
  return fields;
}

async function plan(db: Db, survivorId: number, mergedId: number, lock: boolean): Promise<MergePlan> {
  const { survivor, merged } = await loadPair(db, survivorId, mergedId, lock);
  const refs = await customerReferences(db);
  const moves: Record<string, number> = {};
  for (const ref of movedTables(refs)) {
    const key = ref.column === 'customer_id' ? ref.table : `${ref.table}.${ref.column}`;
    moves[key] = await countWhere(db, ref.table, ref.column, mergedId);
    // Lines have no key of their own on customers: they belong to an order and follow it.
    if (ref.table === 'orders')
      moves.order_lines = await countWhere(db, 'order_lines', 'customer_id', mergedId);
  }
  const others = await db
    .selectFrom('customers')
    .select([
      sql<number>`count(*) filter (where referred_by_customer_id = ${mergedId})::int`.as('referrals'),
      sql<number>`count(*) filter (where merged_into_customer_id = ${mergedId})::int`.as('redirects'),
    ])
    .where('id', 'not in', [survivorId, mergedId])
    .executeTakeFirstOrThrow();
  moves.referrals = others.referrals;
  moves.merged_redirects = others.redirects;
  const recomputed: Record<string, number> = {};
  for (const table of DERIVED_TABLES)
    recomputed[table] = await countWhere(db, table, 'customer_id', mergedId);
  return {
    survivor_id: survivorId,
    merged_id: mergedId,
    moves,
    recomputed,
    fields: fieldPlan(survivor, merged),
  };
}

/**
 * What merging `mergedId` into `survivorId` would do: the rows that would move per table, the derived
 * rows that would be recomputed, and field by field what the survivor keeps or gains. Refuses (409) the
 * merges that `mergeCustomers` refuses.
 */
export function previewMerge(database: Database, survivorId: number, mergedId: number): Promise<MergePlan> {
  return plan(database.db, survivorId, mergedId, false);
}

function resultOf(fields: FieldMerge[], field: string): unknown {
  return fields.find((f) => f.field === field)!.result;
}

/**
 * Merges `mergedId` into `survivorId` in one transaction: every order (with its lines and returns),
 * touch, interaction, preference note and consent row moves to the survivor, customers referred by or
 * merged into the merged customer now point at the survivor, the survivor's fields are completed
 * (see `previewMerge`), and the merged customer remains as a stub pointing at the survivor with its
 * personal fields emptied. The merged customer's lifetime value and tier snapshots are deleted, and the
 * next measures refresh removes its measures row (segments leave merged customers out meanwhile) and
 * recomputes the survivor's from the combined history. Returns what it did.
 */
export async function mergeCustomers(
  database: Database,
  survivorId: number,
  mergedId: number,
): Promise<MergePlan> {
  return database.transaction(async ({ db }) => {
    const done = await plan(db, survivorId, mergedId, true);
    const fields = done.fields;
    const externalIdMoves = fields.find((f) => f.field === 'external_id')!.outcome === 'gained';
    // The stub first: the external id is unique, and the survivor may be about to take it.
    await db
      .updateTable('customers')
      .set({
        merged_into_customer_id: survivorId,
        ...(externalIdMoves ? { external_id: null } : {}),
        ...PERSONAL_DATA_EMPTIED,
        account_owner_staff_id: null,
        home_store_id: null,
        updated_at: sql<Date>`now()`,
      })
      .where('id', '=', mergedId)
      .execute();
    await db
      .updateTable('customers')
      .set({
        external_id: resultOf(fields, 'external_id') as string | null,
        name: resultOf(fields, 'name') as string | null,
        name_kana: resultOf(fields, 'name_kana') as string | null,
        email: resultOf(fields, 'email') as string | null,
        phone: resultOf(fields, 'phone') as string | null,
        postal_code: resultOf(fields, 'postal_code') as string | null,
        address: resultOf(fields, 'address') as string | null,
        birth_date: resultOf(fields, 'birth_date') as string | null,
        acquisition_source: resultOf(fields, 'acquisition_source') as string | null,
        referred_by_customer_id: resultOf(fields, 'referred_by_customer_id') as number | null,
        account_owner_staff_id: resultOf(fields, 'account_owner_staff_id') as number | null,
        home_store_id: resultOf(fields, 'home_store_id') as number | null,
        tags: resultOf(fields, 'tags') as string[],
        custom_fields: JSON.stringify(resultOf(fields, 'custom_fields')),
        do_not_contact: resultOf(fields, 'do_not_contact') as boolean,
        created_at: resultOf(fields, 'created_at') as string,
        updated_at: sql<Date>`now()`,
      })
      .where('id', '=', survivorId)
      .execute();
    for (const ref of movedTables(await customerReferences(db))) {
      await sql`update ${sql.table(ref.table)} set ${sql.ref(ref.column)} = ${survivorId} where ${sql.ref(ref.column)} = ${mergedId}`.execute(
        db,
      );
      if ((await countWhere(db, ref.table, ref.column, mergedId)) !== 0) {
        throw new Error(`merge left rows of customer ${mergedId} in ${ref.table}`);
      }
    }
    if ((await countWhere(db, 'order_lines', 'customer_id', mergedId)) !== 0) {
      throw new Error(`merge left order lines of customer ${mergedId}`);
    }
    await db
      .updateTable('customers')
      .set({ referred_by_customer_id: survivorId, updated_at: sql<Date>`now()` })
      .where('referred_by_customer_id', '=', mergedId)
      .where('id', 'not in', [survivorId, mergedId])
      .execute();
    // Earlier merges into the merged customer now lead straight to the survivor.
    await db
      .updateTable('customers')
      .set({ merged_into_customer_id: survivorId, updated_at: sql<Date>`now()` })
      .where('merged_into_customer_id', '=', mergedId)
      .where('id', '!=', mergedId)
      .execute();
    for (const table of DELETED_ON_MERGE) {
      await db.deleteFrom(table).where('customer_id', '=', mergedId).execute();
    }
    return done;
  });
}

/**
 * The customer a key (id or external id) names itself, without following merges: a merge request that
 * names a customer already merged away is refused rather than silently applied to its survivor.
 */
export async function customerIdWithoutRedirect(database: Database, key: string): Promise<number | null> {
  const id = /^[1-9]\d{0,15}$/.test(key) && Number.isSafeInteger(Number(key)) ? Number(key) : null;
  const row = await database.db
    .selectFrom('customers')
    .select('id')
    .where((eb) => eb.or([...(id === null ? [] : [eb('id', '=', id)]), eb('external_id', '=', key)]))
    .orderBy(sql`case when id = ${id} then 0 else 1 end`)
    .limit(1)
    .executeTakeFirst();
  return row?.id ?? null;
}
