import { sql } from 'kysely';
import { type Actor, requirePermission } from '../auth/index.ts';
import type { Database } from '../db/index.ts';
import { csvLine } from '../demo/index.ts';
import { KizunaError } from '../errors.ts';
import {
  asOneCount,
  memberCountQuery,
  memberIdsQuery,
  type SegmentScope,
  withDatabaseFacts,
} from './compile.ts';
import { parseRules, type RuleNode } from './rules.ts';

export const DEFAULT_PREVIEW_LIMIT = 50;
export const MAX_PREVIEW_LIMIT = 500;
const EXPORT_BATCH = 5000;

export async function countSegment(
  database: Database,
  rules: RuleNode,
  scope: SegmentScope,
): Promise<number> {
  const query = memberCountQuery(rules, await withDatabaseFacts(database, scope, rules));
  const { rows } = await asOneCount(database, (db) => query.execute(db));
  return rows[0]?.members ?? 0;
}

export type PreviewCustomer = {
  id: number;
  external_id: string | null;
  name: string | null;
  home_store_id: number | null;
  tier: string | null;
  rfm_cell: string | null;
  orders_count: number | null;
  total_spend: string | null;
  last_purchase_at: Date | null;
  clv: string | null;
  probability_alive: number | null;
};

/** Members with their key measures, by customer id; `after` is the last id of the previous page. */
function membersPage(rules: RuleNode, scope: SegmentScope, limit: number, after: number) {
  return sql<PreviewCustomer>`
    select c.id, c.external_id, c.name, c.home_store_id, m.tier, m.rfm_cell, m.orders_count, m.total_spend,
           m.last_purchase_at, v.clv, v.probability_alive
    from (${memberIdsQuery(rules, scope)}) s
    join customers c on c.id = s.id
    left join customer_measures m on m.customer_id = s.id
    left join customer_clv v on v.customer_id = s.id
    where s.id > ${after}
    order by s.id
    limit ${limit}`;
}

export async function previewSegment(
  database: Database,
  rules: RuleNode,
  scope: SegmentScope,
  options: { limit?: number; after?: number } = {},
): Promise<{ customers: PreviewCustomer[]; nextAfter: number | null }> {
  const limit = Math.min(options.limit ?? DEFAULT_PREVIEW_LIMIT, MAX_PREVIEW_LIMIT);
  const { rows } = await membersPage(
    rules,
    await withDatabaseFacts(database, scope, rules),
    limit + 1,
    options.after ?? 0,
  ).execute(database.db);
  const customers = rows.slice(0, limit);
  return { customers, nextAfter: rows.length > limit ? customers.at(-1)!.id : null };
}

const EXPORT_COLUMNS = [
  'id',
  'external_id',
  'name',
  'email',
  'phone',
  'postal_code',
  'address',
  'home_store_id',
  'tier',
  'orders_count',
  'total_spend',
  'last_purchase_at',
  'clv',
] as const;

type ExportRow = Record<(typeof EXPORT_COLUMNS)[number], string | number | Date | null>;

const cell = (value: string | number | Date | null) =>
  value === null ? '' : value instanceof Date ? value.toISOString() : String(value);

/**
 * The members as CSV (contact details and key measures), read in pages of 5,000 by customer id so that
 * a large segment never sits in memory at once. Personal data: the caller needs customers:export.
 */
export async function* segmentCsv(
  database: Database,
  rules: RuleNode,
  scope: SegmentScope,
): AsyncGenerator<string> {
  requirePermission(scope.actor, 'customers:export');
  const facts = await withDatabaseFacts(database, scope, rules);
  yield csvLine(EXPORT_COLUMNS);
  let after = 0;
  for (;;) {
    const { rows } = await sql<ExportRow>`
      select c.id, c.external_id, c.name, c.email, c.phone, c.postal_code, c.address, c.home_store_id,
             m.tier, m.orders_count, m.total_spend, m.last_purchase_at, v.clv
      from (${memberIdsQuery(rules, facts)}) s
      join customers c on c.id = s.id
      left join customer_measures m on m.customer_id = s.id
      left join customer_clv v on v.customer_id = s.id
      where s.id > ${after}
      order by s.id
      limit ${EXPORT_BATCH}`.execute(database.db);
    if (rows.length === 0) return;
    yield rows.map((row) => csvLine(EXPORT_COLUMNS.map((column) => cell(row[column])))).join('');
    after = Number(rows.at(-1)!.id);
  }
}

export type SavedSegment = {
  id: number;
  name: string;
  description: string | null;
  rules: RuleNode;
  owner_name: string;
  owner_staff_id: number | null;
  created_at: Date;
  updated_at: Date;
};

const SEGMENT_COLUMNS = [
  'id',
  'name',
  'description',
  'rules',
  'owner_name',
  'owner_staff_id',
  'created_at',
  'updated_at',
] as const;

/** Saves under a name; saving an existing name replaces its rules and description (the owner stays). */
export async function saveSegment(
  database: Database,
  actor: Actor,
  input: { name: string; description?: string | null; rules: RuleNode },
): Promise<SavedSegment> {
  requirePermission(actor, 'segments:write');
  const rules = JSON.stringify(input.rules);
  const row = await database.db
    .insertInto('segments')
    .values({
      name: input.name,
      description: input.description ?? null,
      rules,
      owner_staff_id: actor.staffId,
      owner_name: actor.name,
    })
    .onConflict((oc) =>
      oc
        .column('name')
        .doUpdateSet({ rules, description: input.description ?? null, updated_at: new Date() }),
    )
    .returning(SEGMENT_COLUMNS)
    .executeTakeFirstOrThrow();
  return { ...row, rules: row.rules as RuleNode };
}

export async function listSegments(database: Database): Promise<SavedSegment[]> {
  const rows = await database.db.selectFrom('segments').select(SEGMENT_COLUMNS).orderBy('name').execute();
  return rows.map((row) => ({ ...row, rules: row.rules as RuleNode }));
}

/** A saved segment by id or name; 404 when there is none. Its stored rules are checked again on reading. */
export async function getSegment(database: Database, key: string | number): Promise<SavedSegment> {
  const byId = typeof key === 'number' || /^\d+$/.test(key);
  const row = await database.db
    .selectFrom('segments')
    .select(SEGMENT_COLUMNS)
    .where(byId ? 'id' : 'name', '=', byId ? Number(key) : String(key))
    .executeTakeFirst();
  if (!row) throw new KizunaError('segment_not_found', `No saved segment ${key}`, { status: 404 });
  return { ...row, rules: parseRules(row.rules) };
}

/** Counts a saved segment now (or as of a moment) and records the size: the segment's size over time. */
export async function evaluateSegment(
  database: Database,
  segment: SavedSegment,
  scope: SegmentScope,
): Promise<{ members: number; asOf: Date }> {
  const members = await countSegment(database, segment.rules, scope);
  await database.db
    .insertInto('segment_sizes')
    .values({ segment_id: segment.id, as_of: scope.asOf, members, store_ids: storeIdsOf(scope.actor) })
    .execute();
  return { members, asOf: scope.asOf };
}

const storeIdsOf = (actor: Actor) => (actor.storeIds === null ? null : [...actor.storeIds]);

export type Snapshot = {
  id: number;
  segment_id: number;
  as_of: Date;
  members: number;
  store_ids: number[] | null;
  taken_by_name: string;
  taken_at: Date;
};

/**
 * Freezes the membership of a saved segment at one moment, in one transaction: the rules as they are
 * now, and the member ids, written by one INSERT … SELECT. Campaigns send to a snapshot, so the audience
 * can be read back exactly later, whatever the customers did since.
 */
export async function snapshotSegment(
  database: Database,
  segment: SavedSegment,
  scope: SegmentScope,
): Promise<Snapshot> {
  requirePermission(scope.actor, 'segments:write');
  const facts = await withDatabaseFacts(database, scope, segment.rules);
  return database.transaction(async (tx) => {
    const snapshot = await tx.db
      .insertInto('segment_snapshots')
      .values({
        segment_id: segment.id,
        rules: JSON.stringify(segment.rules),
        as_of: scope.asOf,
        store_ids: storeIdsOf(scope.actor),
        members: 0,
        taken_by_staff_id: scope.actor.staffId,
        taken_by_name: scope.actor.name,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const inserted = await sql`
      insert into segment_snapshot_members (snapshot_id, customer_id)
      select ${snapshot.id}::bigint, s.id from (${memberIdsQuery(segment.rules, facts)}) s`.execute(tx.db);
    const members = Number(inserted.numAffectedRows ?? 0);
    await tx.db.updateTable('segment_snapshots').set({ members }).where('id', '=', snapshot.id).execute();
    await tx.db
      .insertInto('segment_sizes')
      .values({ segment_id: segment.id, as_of: scope.asOf, members, store_ids: storeIdsOf(scope.actor) })
      .execute();
    return tx.db
      .selectFrom('segment_snapshots')
      .select(['id', 'segment_id', 'as_of', 'members', 'store_ids', 'taken_by_name', 'taken_at'])
      .where('id', '=', snapshot.id)
      .executeTakeFirstOrThrow();
  });
}

/** The customer ids of a snapshot, ascending. */
export async function snapshotMembers(database: Database, snapshotId: number): Promise<number[]> {
  const rows = await database.db
    .selectFrom('segment_snapshot_members')
    .select('customer_id')
    .where('snapshot_id', '=', snapshotId)
    .orderBy('customer_id')
    .execute();
  return rows.map((r) => r.customer_id);
}

/** A saved segment's sizes over time and its snapshots, oldest first. */
export async function segmentHistory(
  database: Database,
  segment: SavedSegment,
): Promise<{
  sizes: { as_of: Date; members: number; store_ids: number[] | null; measured_at: Date }[];
  snapshots: Snapshot[];
}> {
  const [sizes, snapshots] = await Promise.all([
    database.db
      .selectFrom('segment_sizes')
      .select(['as_of', 'members', 'store_ids', 'measured_at'])
      .where('segment_id', '=', segment.id)
      .orderBy('measured_at')
      .orderBy('id')
      .execute(),
    database.db
      .selectFrom('segment_snapshots')
      .select(['id', 'segment_id', 'as_of', 'members', 'store_ids', 'taken_by_name', 'taken_at'])
      .where('segment_id', '=', segment.id)
      .orderBy('taken_at')
      .orderBy('id')
      .execute(),
  ]);
  return { sizes, snapshots };
}
