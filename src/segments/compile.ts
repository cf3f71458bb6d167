import { type Kysely, type RawBuilder, sql } from 'kysely';
import { type Actor, customerInStores } from '../auth/index.ts';
import type { Database, Schema } from '../db/index.ts';
import { categoryFactsBuyers } from './conditions/purchase.ts';
import {
  type CompileContext,
  conditionKind,
  isGroup,
  isNot,
  type KeyedRows,
  type RowPredicate,
  type RuleNode,
  rowExists,
  rowsCustomers,
} from './rules.ts';

const CUSTOMER_ID = sql.ref('c.id') as RawBuilder<number>;

/**
 * The rule tree as one boolean SQL expression over the customer row `c`. Groups become and / or / not of
 * their children; each condition is its kind's EXISTS / IN subquery keyed on `c.id`, so the whole tree is
 * one statement (no query per customer) that Citus can push down to each shard, and every user value is a
 * bound parameter.
 */
export function compileRules(node: RuleNode, scope: SegmentScope): RawBuilder<boolean> {
  const ctx = contextOf(scope);
  if (isGroup(node)) {
    if (node.children.length === 0) return node.op === 'and' ? sql<boolean>`true` : sql<boolean>`false`;
    const join = node.op === 'and' ? sql` and ` : sql` or `;
    // Tests of the same one-row-per-customer table become one EXISTS (see RowPredicate).
    const rows = new Map<RowPredicate['table'], RawBuilder<boolean>[]>();
    const parts: RawBuilder<boolean>[] = [];
    for (const child of node.children) {
      const row = rowPredicateOf(child, ctx);
      if (row) rows.set(row.table, [...(rows.get(row.table) ?? []), row.predicate]);
      else parts.push(compileRules(child, scope));
    }
    for (const [table, predicates] of rows) {
      parts.push(rowExists({ table, predicate: sql<boolean>`(${sql.join(predicates, join)})` }, CUSTOMER_ID));
    }
    return sql<boolean>`(${sql.join(parts, join)})`;
  }
  if (isNot(node)) return sql<boolean>`(not ${compileRules(node.child, scope)})`;
  return conditionKind(node.kind).compile(node, ctx);
}

function contextOf(scope: SegmentScope): CompileContext {
  return {
    asOf: scope.asOf,
    customerId: CUSTOMER_ID,
    ordersAfterAsOf: scope.ordersAfterAsOf ?? true,
    measuresCoverOrders: scope.measuresCoverOrders ?? false,
    consentsAfterAsOf: scope.consentsAfterAsOf ?? true,
    recencyPoints: scope.recencyPoints ?? null,
  };
}

function rowPredicateOf(node: RuleNode, ctx: CompileContext): RowPredicate | null {
  if (isGroup(node) || isNot(node)) return null;
  return conditionKind(node.kind).rowPredicate?.(node, ctx) ?? null;
}

export type SegmentScope = {
  /** The moment relative windows end at and after which nothing counts; default now. */
  asOf: Date;
  /** Whose stores limit the members (CLI_ACTOR: every store). */
  actor: Actor;
  /** Whether an order is dated after asOf (see CompileContext); unknown means yes. `withDatabaseFacts` fills it. */
  ordersAfterAsOf?: boolean;
  /** Whether the measures are exact for every order (see CompileContext); unknown means no. */
  measuresCoverOrders?: boolean;
  /** Whether a consent is recorded after asOf (see CompileContext); unknown means yes. */
  consentsAfterAsOf?: boolean;
  /** The last refresh's recency points (see CompileContext); unknown means not known. */
  recencyPoints?: readonly number[] | null;
  /** The or-groups to join as one set (see keyedRowSets); unknown means none. `withDatabaseFacts` fills it. */
  joinedSets?: ReadonlySet<RuleNode>;
};

/**
 * The scope with the facts about the data that let the compiler leave out redundant bounds, and — given
 * the rules it will compile — which of their or-groups to join as one set (see `smallKeyedSets`).
 */
export async function withDatabaseFacts(
  database: Database,
  scope: SegmentScope,
  rules?: RuleNode,
): Promise<SegmentScope> {
  // The last refresh counted orders up to the end of its as-of day (UTC); its marks of changed customers
  // are consumed by the next refresh, so none left and no order after that day means nothing is missing.
  // max() reads one entry of the ordered_at index; a comparison with a subquery's value would not.
  const { rows } = await sql<{
    later: boolean;
    covered: boolean;
    consentsLater: boolean;
    recencyPoints: number[] | null;
    customers: number;
  }>`
    with last as (select as_of, recency_points from measures_refreshes order by id desc limit 1),
         latest as (select max(ordered_at) as at from orders)
    select coalesce((select at from latest) > ${scope.asOf}, false) as later,
           coalesce((select max(recorded_at) from consents) > ${scope.asOf}, false) as "consentsLater",
           exists (select 1 from last)
             and not exists (select 1 from measures_dirty_customers)
             and coalesce((select at from latest) < (select (as_of + 1)::timestamptz from last), true) as covered,
           (select recency_points from last) as "recencyPoints",
           (select reltuples from pg_class where oid = 'customers'::regclass) as customers`.execute(
    database.db,
  );
  const facts: SegmentScope = {
    ...scope,
    ordersAfterAsOf: rows[0]?.later ?? true,
    measuresCoverOrders: rows[0]?.covered ?? false,
    consentsAfterAsOf: rows[0]?.consentsLater ?? true,
    recencyPoints: rows[0]?.recencyPoints ?? null,
  };
  if (rules === undefined) return facts;
  // reltuples: the planner's count of customers (-1 before the first analyze).
  const customers = Math.max(Number(rows[0]?.customers ?? 0), 0);
  return { ...facts, joinedSets: await smallKeyedSets(database, rules, facts, customers) };
}

/**
 * A set joined is read whole, so it pays only when it is small: the planner's estimate of each top-level
 * or-group's customers is compared with a tenth of all customers. Measured at 1 M: "clicked the spring
 * mailing or likes Murakami" (estimated 11,869, 58,135 in fact) joined made the 10-condition tree 143–159 ms
 * instead of 585; "loyal, and got a newsletter or likes Murakami" (the set is every customer) took
 * 1,193–1,309 ms joined against 760–804 tested for each loyal customer (alternated).
 */
const JOINED_SET_SHARE = 0.1;

async function smallKeyedSets(
  database: Database,
  rules: RuleNode,
  scope: SegmentScope,
  customers: number,
): Promise<Set<RuleNode>> {
  const small = new Set<RuleNode>();
  for (const { node, rows } of keyedOrGroups(rules, contextOf(scope))) {
    const { rows: plan } = await sql<{ 'QUERY PLAN': [{ Plan: { 'Plan Rows': number } }] }>`
      explain (format json) ${unionOf(rows)}`.execute(database.db);
    const estimate = plan[0]?.['QUERY PLAN'][0].Plan['Plan Rows'] ?? Number.POSITIVE_INFINITY;
    if (estimate <= customers * JOINED_SET_SHARE) small.add(node);
  }
  return small;
}

/**
 * Who can ever be a member: not merged into another customer, not erased, and one of the caller's
 * stores' customers.
 */
function membersWhere(rules: RuleNode, scope: SegmentScope): RawBuilder<boolean> {
  return sql<boolean>`c.merged_into_customer_id is null and c.erased_at is null
    and ${customerInStores(scope.actor, CUSTOMER_ID)}
    and ${compileRules(rules, scope)}`;
}

/** Kinds whose SQL reads only `c.id` (the others test columns of the customer row). */
const ID_ONLY_KINDS = new Set([
  'purchased',
  'last_purchase',
  'first_purchase',
  'tier',
  'rfm',
  'measure',
  'consent',
  'touch',
  'interaction',
  'preference',
]);

function readsOnlyId(node: RuleNode): boolean {
  if (isGroup(node)) return node.children.every(readsOnlyId);
  if (isNot(node)) return readsOnlyId(node.child);
  return ID_ONLY_KINDS.has(node.kind);
}

/**
 * `customers c where …`, or — when the rules are "bought these categories (lately) and …" and the
 * segment facts answer that condition — the facts' buyers as `c`: the count then reads the category's
 * index range instead of every customer (the facts hold only customers who can be members), and the
 * other conditions are tested for those buyers only. When another condition reads the customer row
 * (tags, fields, do-not-contact…), the buyers are looked up in customers.
 */
function membersFrom(rules: RuleNode, scope: SegmentScope): RawBuilder<unknown> {
  const ctx = contextOf(scope);
  const { joins, rest: withoutSets } = keyedRowSets(rules, ctx, scope.joinedSets ?? new Set());
  // A group or a `not` among them starts nothing: the drivers below skip them.
  const children = topLevel(withoutSets);
  for (const [i, child] of children.entries()) {
    if (isGroup(child) || isNot(child)) continue;
    const facts = categoryFactsBuyers(child, ctx);
    if (facts === null) continue;
    const { buyers, unique } = facts;
    const rest: RuleNode = { op: 'and', children: children.filter((_, j) => j !== i) };
    // A semi-join even for one category (each buyer once): a join was 10–30 % faster on PostgreSQL
    // (no hash aggregate of the range in every parallel worker) but 15–25 % slower on PGlite (measured
    // alternately at 1 M, docs/segments.md).
    if (!readsOnlyId(rest))
      return sql`customers c${joins} where c.id in (${buyers}) and ${membersWhere(rest, scope)}`;
    return sql`(select ${unique ? sql`` : sql`distinct`} b.customer_id as id from (${buyers}) b) c${joins}
      where ${customerInStores(scope.actor, CUSTOMER_ID)} and ${compileRules(rest, scope)}`;
  }
  const measures = measuresDriver(children, ctx);
  if (measures !== null) {
    const { rows, rest } = measures;
    if (!readsOnlyId(rest))
      return sql`customers c${joins} where c.id in (${rows}) and ${membersWhere(rest, scope)}`;
    return sql`(${rows}) c${joins} where ${customerInStores(scope.actor, CUSTOMER_ID)} and ${compileRules(rest, scope)}`;
  }
  return sql`customers c${joins} where ${membersWhere(withoutSets, scope)}`;
}

/**
 * The top-level or-groups of "has such a row" conditions ("clicked the spring mailing or likes Murakami":
 * touches, interactions, preference notes), each as the union of their customers joined once to the
 * candidates, and the rules without them. Written as `exists (…) or exists (…)`, PostgreSQL can only test
 * such an or per candidate, in the leader process (correlated subplans), after every other condition
 * (at 1 M: 18,914 candidates probed, 450 of the 10-condition tree's 600 ms); joined, the planner hashes the
 * set and meets it with the other small sets first. `union` removes duplicates, so the join keeps one row
 * per customer.
 */
function keyedRowSets(
  rules: RuleNode,
  ctx: CompileContext,
  joined: ReadonlySet<RuleNode>,
): { joins: RawBuilder<unknown>; rest: RuleNode } {
  const sets = keyedOrGroups(rules, ctx).filter(({ node }) => joined.has(node));
  if (sets.length === 0) return { joins: sql``, rest: rules };
  const joins = sets.map(({ rows }, i) => {
    const set = sql.ref(`o${i}`);
    return sql` join (${unionOf(rows)}) ${set} on ${set}.customer_id = c.id`;
  });
  const rest = topLevel(rules).filter((node) => !sets.some((set) => set.node === node));
  return { joins: sql.join(joins, sql``), rest: { op: 'and', children: rest } };
}

/** The conditions and groups whose "and" is the rules: the root's children, or the root alone. */
export const topLevel = (rules: RuleNode): readonly RuleNode[] =>
  isGroup(rules) && rules.op === 'and' ? rules.children : [rules];

/** The top-level or-groups whose children are all "has such a row" conditions, with their rows. */
function keyedOrGroups(rules: RuleNode, ctx: CompileContext): { node: RuleNode; rows: KeyedRows[] }[] {
  return topLevel(rules).flatMap((node) => {
    if (!isGroup(node) || node.op !== 'or' || node.children.length < 2) return [];
    const rows = keyedRowsOf(node.children, ctx);
    return rows === null ? [] : [{ node, rows }];
  });
}

const unionOf = (rows: readonly KeyedRows[]) => sql`${sql.join(rows.map(rowsCustomers), sql` union `)}`;

/** Each node's rows (see KeyedRows), or null when one of them is not such a condition. */
function keyedRowsOf(nodes: readonly RuleNode[], ctx: CompileContext): KeyedRows[] | null {
  const rows: KeyedRows[] = [];
  for (const node of nodes) {
    if (isGroup(node) || isNot(node)) return null;
    const keyed = conditionKind(node.kind).keyedRows?.(node, ctx);
    if (keyed === undefined) return null;
    rows.push(keyed);
  }
  return rows;
}

/**
 * "Tests of the measures row and …": the measures rows that pass those tests, as the ids a count can
 * start from (an index range of customer_measure_rows — tier, first / last purchase — instead of every
 * customer). A member has a measures row whenever such a test holds (no row: no tier, no purchase), and
 * there is at most one per customer; but erased customers keep theirs, so the customers who cannot be
 * members (merged away or erased: `customers_gone_idx`, a handful) are left out by a hashed list.
 */
function measuresDriver(
  children: readonly RuleNode[],
  ctx: CompileContext,
): { rows: RawBuilder<unknown>; rest: RuleNode } | null {
  const tests: RawBuilder<boolean>[] = [];
  const others: RuleNode[] = [];
  for (const child of children) {
    const row = rowPredicateOf(child, ctx);
    if (row?.table === 'customer_measures') tests.push(row.predicate);
    else others.push(child);
  }
  if (tests.length === 0) return null;
  return {
    rows: sql`select m.customer_id as id from customer_measures m where ${sql.join(tests, sql` and `)}
      and m.customer_id not in (select g.id from customers g
        where g.merged_into_customer_id is not null or g.erased_at is not null)`,
    rest: { op: 'and', children: others },
  };
}

/** `select c.id from customers c where …`: the members' ids, in no particular order. */
export function memberIdsQuery(rules: RuleNode, scope: SegmentScope): RawBuilder<{ id: number }> {
  return sql<{ id: number }>`select c.id from ${membersFrom(rules, scope)}`;
}

export function memberCountQuery(rules: RuleNode, scope: SegmentScope): RawBuilder<{ members: number }> {
  return sql<{ members: number }>`select count(*)::int as members from ${membersFrom(rules, scope)}`;
}

/** The count query's plan (with `analyze`: run, with actual times and rows), for debugging a slow segment. */
export async function explainSegment(
  database: Database,
  rules: RuleNode,
  scope: SegmentScope,
  options: { analyze?: boolean } = {},
): Promise<string> {
  const query = memberCountQuery(rules, await withDatabaseFacts(database, scope, rules));
  const explain = options.analyze ? sql`explain (analyze, buffers)` : sql`explain`;
  const { rows } = await asOneCount(database, (db) =>
    sql<{ 'QUERY PLAN': string }>`${explain} ${query}`.execute(db),
  );
  return rows.map((r) => r['QUERY PLAN']).join('\n');
}

/**
 * Runs a segment count on PostgreSQL as one process without JIT (`set local`, in a transaction):
 *
 * - JIT off: a count over 1 M customers is costed above jit_above_cost, and compiling it took longer than
 *   the gain (~110 ms of the 10-condition tree's 0.6 s at 1 M, bench/segments.ts).
 * - No parallel workers: on a 2-core machine the workers' start and their share of one index range cost
 *   more than they save — at 1 M, alternating, "bought A, not B" 164–173 ms alone against 214–226 with two
 *   workers, lapsed regulars 27 against 52, the 10-condition tree 154 against 198; only a count that reads
 *   every measures row (an RFM group) was faster with them (170–177 against 217–225). An interactive count
 *   that takes every core also slows every other user's.
 *
 * PGlite has neither: there it runs as it is.
 */
export function asOneCount<T>(database: Database, work: (db: Kysely<Schema>) => Promise<T>): Promise<T> {
  if (database.engine !== 'postgres') return work(database.db);
  return database.transaction(async (tx) => {
    await sql`set local jit = off; set local max_parallel_workers_per_gather = 0`.execute(tx.db);
    return work(tx.db);
  });
}
