import { type RawBuilder, sql } from 'kysely';
import type { Database, Transaction } from '../../db/index.ts';
import {
  cutPointsByScore,
  cutPointsOf,
  keepMonthCutPoints,
  monthCutPoints,
  onDay,
  sameFixedCuts,
  type ThresholdPlace,
  thresholdKeys,
} from './cut-points.ts';
import {
  BASE_COLUMNS,
  baseSelect,
  batchBaseSelect,
  type CutPoints,
  dayNumber,
  finalSelect,
  histogramSelect,
  inKeyOrder,
  inParallel,
  keyedSelect,
  movedSelect,
  ordersAfter,
  ROW_COLUMNS,
  STORED_ROW,
  storedKeyed,
  storedKeyedOf,
  withPlannerSettings,
} from './measures-sql.ts';
import { asOfDay, type MeasuresSettings, type MeasuresSettingsInput, resolveSettings } from './settings.ts';

export type RefreshMode = 'full' | 'incremental';

export type RefreshOptions = {
  /** The day the measures describe (orders up to its end, UTC); today by default. */
  asOf?: Date | string;
  settings?: MeasuresSettingsInput;
  /**
   * Recompute everything from the orders even when an incremental refresh is possible. By default the
   * refresh is incremental when the last one used the same settings and an as-of day no later than this one.
   */
  full?: boolean;
  /**
   * Compute the cut points of the as-of day's month afresh from today's buyers (and keep them for the
   * month's later refreshes) instead of using those its first refresh fixed (measures_cut_points).
   */
  recut?: boolean;
  /** Called as each step finishes (progress). */
  onStep?: (step: RefreshStep) => void;
};

export type RefreshStep = { step: string; rows: number; seconds: number };

export type RefreshResult = {
  asOf: string;
  mode: RefreshMode;
  /** Why this mode: the user asked, or why an incremental refresh was not possible. */
  reason: string;
  /**
   * The day whose buyers the F / M scores and tiers were ranked against: the day the month's cut points
   * were fixed (by this refresh when it was the month's first, or recut them).
   */
  cutPointsAsOf: string;
  /** Customers with a measures row (every unmerged customer). */
  customers: number;
  /** Of those, customers with at least one purchase by asOf (the ones with scores and a tier). */
  withPurchases: number;
  /** Customers whose base measures were recomputed from their orders (all of them when full). */
  recomputed: number;
  /** Rows of customer_measures written: changed, added (new customers), removed (merged). */
  written: { updated: number; inserted: number; deleted: number };
  steps: RefreshStep[];
  seconds: number;
};

const seconds = (start: number): number => Number(((performance.now() - start) / 1000).toFixed(3));

/** Serialises refreshes on a shared server (any constant; "kizuna measures"). */
const REFRESH_LOCK = 4_257_810_412;

type LastRefresh = {
  as_of: string;
  settings: string;
  customers: number;
  rows_version: string | null;
  cut_points: CutPoints | null;
};

/** The number of statements that have written customer_measure_rows (migration 019). */
const rowsVersion = sql<{ version: string }>`
  select (case when is_called then last_value else 0 end)::text as version from measures_rows_version`;

/** Why the refresh must be full, or null when an incremental one gives the same result. */
function fullBecause(
  last: LastRefresh | undefined,
  asOf: string,
  settings: string,
  full: boolean | undefined,
): string | null {
  if (full) return 'full refresh requested';
  if (!last) return 'no earlier refresh to continue from';
  if (last.settings !== settings) return 'the settings differ from the last refresh';
  if (asOf < last.as_of) return `as-of ${asOf} is before the last refresh (${last.as_of})`;
  return null;
}

/**
 * Recomputes every customer's measures as of a day, in one transaction: readers see either the old
 * measures or the new ones, never a mix.
 *
 * The cut points (F / M, the loyalty score's percentiles, the tier thresholds) are the month's: the first
 * refresh (or tier snapshot) whose as-of day falls in a month computes them and keeps them in
 * measures_cut_points; later ones in the month use them again (`recut` computes them afresh). Only the
 * recency points follow the day.
 *
 * Full: the base measures (purchases, spend, margin, returns) of every customer from the orders, lines and
 * returns into a staging table, the buyers counted per key value (measures_histograms), the cut points
 * and tier thresholds from those (computeCutPoints) unless the month's hold, then every row from its own
 * base measures and the cut points (finalSelect).
 * Incremental: the base measures only of the customers marked changed since the last refresh (triggers on
 * orders, lines, returns, customers and product costs fill measures_dirty_customers) and of those with an
 * order or return between the last as-of day and this one; everybody else keeps their stored base measures.
 * The histogram moves the changed customers' old keys out and new keys in. On the month's cut points,
 * besides the changed customers only those whose tier the days passing move (lapsed, no longer new) are
 * rewritten; with new cut points (from the histogram), those whose scores or tier they move — with the
 * same functions as the full refresh, so the rows are the same. Both write only the rows whose values
 * changed; customer_measures (a view) shows every row as of this refresh's day.
 */
export async function refreshMeasures(
  database: Database,
  options: RefreshOptions = {},
): Promise<RefreshResult> {
  const asOf = asOfDay(options.asOf);
  const settings = resolveSettings(options.settings);
  const settingsText = JSON.stringify(settings);
  const started = performance.now();
  const steps: RefreshStep[] = [];
  const record = (step: string, rows: number, start: number) => {
    const done = { step, rows, seconds: seconds(start) };
    steps.push(done);
    options.onStep?.(done);
  };
  const last = (
    await sql<LastRefresh>`
      select as_of, settings, customers, rows_version::text as rows_version, cut_points
      from measures_refreshes order by id desc limit 1`.execute(database.db)
  ).rows[0];
  let reason = fullBecause(last, asOf, settingsText, options.full);
  if (reason) {
    // Fresh planner statistics first: PGlite has no autovacuum, and on stale or missing statistics the
    // full query falls into nested loops (measured at 10,000 customers: 4.6 s without, 0.45 s with).
    // customer_measures too: statistics taken while it was empty make the write's anti-join a nested loop
    // over what is by now every customer.
    const start = performance.now();
    await sql`analyze customers, orders, order_lines, products, returns`.execute(database.db);
    // Guarded: statistics taken while the rows table is empty made the next full refresh 35× slower.
    const { rows } = await sql<{ any: boolean }>`
      select exists (select 1 from customer_measure_rows) as any`.execute(database.db);
    if (rows[0]?.any) await sql`analyze customer_measure_rows`.execute(database.db);
    record('analyze', 0, start);
  }
  const result = await database.transaction(async (tx) => {
    if (!reason) await sql`set transaction isolation level repeatable read`.execute(tx.db);
    // Compiling the refresh's statements to machine code (PostgreSQL's JIT, on by default) cost more than
    // it saved: 0.9 s for the base measures and 1.4 s for the write at 1 M customers, every refresh.
    await sql`set local jit = off`.execute(tx.db);
    await sql`select pg_advisory_xact_lock(${REFRESH_LOCK}::int8)`.execute(tx.db);
    if (!reason && last) {
      // A write behind the refresh's back (a manual fix, a test's fixture) makes the stored rows
      // untrustworthy: the table's version has moved on since the last refresh recorded it.
      const start = performance.now();
      const { rows } = await rowsVersion.execute(tx.db);
      record('check', 0, start);
      if (rows[0]?.version !== last.rows_version) reason = 'customer_measures was changed outside a refresh';
    }
    // The month's cut points, when its first refresh or snapshot fixed them (and no recut is asked for).
    const month = options.recut ? null : await monthCutPoints(tx, asOf, settings);
    if (!reason && month && !(last?.cut_points && sameFixedCuts(month, last.cut_points)))
      reason = `the cut points of ${asOf.slice(0, 7)} (fixed as of ${month.asOf}) differ from the last refresh's`;
    const outcome = reason
      ? await fullRefresh(tx, asOf, settings, month, record)
      : await incrementalRefresh(tx, asOf, last!.as_of, last!.customers, settings, month, record);
    if (!month) await keepMonthCutPoints(tx, outcome.cuts, settings);
    const mode: RefreshMode = reason ? 'full' : 'incremental';
    const result: RefreshResult = {
      asOf,
      mode,
      reason: reason ?? `continues the refresh as of ${last!.as_of} with the same settings`,
      cutPointsAsOf: month?.asOf ?? asOf,
      customers: outcome.customers,
      withPurchases: outcome.withPurchases,
      recomputed: outcome.recomputed,
      written: outcome.written,
      steps,
      seconds: seconds(started),
    };
    // In the same transaction: the view customer_measures shows every row as of this refresh's day.
    const { rows } = await rowsVersion.execute(tx.db);
    // The view computes each customer's recency score from recency_points (sorted: width_bucket).
    const recencyPoints = `{${[...outcome.cuts.reach.r].sort((a, b) => a - b).join(',')}}`;
    await sql`insert into measures_refreshes (as_of, mode, settings, customers, recomputed, seconds, steps, cut_points, rows_version, recency_points)
      values (${asOf}::date, ${mode}, ${settingsText}, ${result.customers}, ${result.recomputed}, ${result.seconds},
              ${JSON.stringify(steps)}::jsonb, ${JSON.stringify(outcome.cuts)}::jsonb, ${rows[0]!.version}::int8,
              ${recencyPoints}::int[])`.execute(tx.db);
    return result;
  });
  if (database.engine === 'pglite') {
    // PGlite has no autovacuum: without this, every refresh's rewritten rows would stay behind as dead
    // versions (the table and its indexes only grow), and no segment count could be answered from an
    // index alone (measured at 1 M: 0.7 s; loyal-tier count 115 → 39 ms, semi-loyal 151 → 30 ms). The
    // segment facts, which orders and consents written one at a time (the API, the desk) keep changing
    // between imports, are vacuumed with them (a vacuum skips the pages that stayed all-visible).
    const start = performance.now();
    await sql`vacuum customer_measure_rows, measures_histograms, measures_dirty_customers,
      customer_category_facts, consents_in_force`.execute(database.db);
    const done = { step: 'vacuum', rows: 0, seconds: seconds(start) };
    options.onStep?.(done);
    return { ...result, steps: [...result.steps, done], seconds: seconds(started) };
  }
  return result;
}

type Outcome = Pick<RefreshResult, 'customers' | 'withPurchases' | 'recomputed' | 'written'> & {
  cuts: CutPoints;
};
type Recorder = (step: string, rows: number, start: number) => void;

async function fullRefresh(
  tx: Transaction,
  asOf: string,
  settings: MeasuresSettings,
  month: CutPoints | null,
  record: Recorder,
): Promise<Outcome> {
  let start = performance.now();
  // Everything is recomputed, so every mark up to now is consumed (later ones stay for the next refresh).
  const cleared = await sql`delete from measures_dirty_customers`.execute(tx.db);
  record('clear changes', Number(cleared.numAffectedRows ?? 0), start);
  start = performance.now();
  // Staging in a temporary table (not WAL-logged): the cut points and the rows are read from it.
  const later = await ordersAfter(tx, asOf);
  const staged = await inKeyOrder(tx, () =>
    sql`create temp table measures_stage on commit drop as
      ${keyedSelect(baseSelect(asOf, { ordersAfter: later }))}`.execute(tx.db),
  );
  const stagedRows = Number(staged.numAffectedRows ?? 0);
  await sql`analyze measures_stage`.execute(tx.db);
  record('base measures', stagedRows, start);
  start = performance.now();
  const stage = sql`select * from measures_stage`;
  await sql`delete from measures_histograms`.execute(tx.db);
  await sql`insert into measures_histograms (kind, x, n) ${histogramSelect(stage)}`.execute(tx.db);
  const histogram = sql`select * from measures_histograms`;
  const cuts = await cutPointsOf(tx, month, stage, histogram, asOf, settings);
  record('cut points', cuts.buyers, start);
  start = performance.now();
  const next = finalSelect(stage, settings, cuts);
  const { rows } = await sql<{ empty: boolean }>`
    select not exists (select 1 from customer_measure_rows) as empty`.execute(tx.db);
  const outcome = rows[0]?.empty ? await fillMeasures(tx, next) : await writeMeasures(tx, next);
  record('write', outcome.written.updated + outcome.written.inserted + outcome.written.deleted, start);
  return { ...outcome, recomputed: outcome.customers, cuts };
}

async function incrementalRefresh(
  tx: Transaction,
  asOf: string,
  lastAsOf: string,
  lastCustomers: number,
  settings: MeasuresSettings,
  month: CutPoints | null,
  record: Recorder,
): Promise<Outcome> {
  let start = performance.now();
  await sql`create temp table measures_batch (customer_id bigint primary key) on commit drop`.execute(tx.db);
  // The changed customers, and those whose orders or returns enter the window when the as-of day moves on.
  const moved =
    asOf > lastAsOf
      ? sql`
        union select customer_id from orders
          where ordered_at >= (${lastAsOf}::date + 1)::timestamp at time zone 'UTC'
            and ordered_at < (${asOf}::date + 1)::timestamp at time zone 'UTC'
        union select customer_id from returns
          where returned_at >= (${lastAsOf}::date + 1)::timestamp at time zone 'UTC'
            and returned_at < (${asOf}::date + 1)::timestamp at time zone 'UTC'`
      : sql``;
  // In customer order: the look-ups of their rows, orders and lines then walk the indexes in order.
  const batch = await sql`
    with marked as (delete from measures_dirty_customers returning customer_id)
    insert into measures_batch (customer_id)
    select customer_id from marked ${moved}
    order by 1`.execute(tx.db);
  const recomputed = Number(batch.numAffectedRows ?? 0);
  await sql`analyze measures_batch`.execute(tx.db);
  record('changed customers', recomputed, start);

  start = performance.now();
  const baseColumns = sql.join(BASE_COLUMNS.map((c) => sql.ref(c)));
  const base = batchBaseSelect(asOf, 'measures_batch', { ordersAfter: await ordersAfter(tx, asOf) });
  await sql`create temp table measures_batch_base on commit drop as
    ${keyedSelect(sql`select ${baseColumns} from (${base}) b0`)}`.execute(tx.db);
  record('their base measures', recomputed, start);

  start = performance.now();
  // Their stored rows, read once by key (the histogram and the counts take them out again).
  await sql`create temp table measures_batch_stored on commit drop as ${storedKeyedOf('measures_batch')}`.execute(
    tx.db,
  );
  const batchStored = sql`select * from measures_batch_stored`;
  const batchKeyed = sql`select * from measures_batch_base`;
  // The histogram follows the batch: their stored keys out, their new keys in.
  await sql`
    insert into measures_histograms (kind, x, n)
    select h.kind, h.x, sum(h.n)::int from (
      ${histogramSelect(batchStored, -1)}
      union all ${histogramSelect(batchKeyed)}
    ) h group by h.kind, h.x
    on conflict (kind, x) do update set n = measures_histograms.n + excluded.n`.execute(tx.db);
  await sql`delete from measures_histograms where n = 0`.execute(tx.db);
  const histogram = sql`select * from measures_histograms`;
  // The other customers whose row the new cut points or the new day may change go into measures_next
  // with the stored columns the write needs (the rest of a row depends on the customer's own orders
  // only, and the view shifts tenure and recency to the new day).
  const kept = sql.join(
    [...BASE_COLUMNS, 'fd', 'ld', 'cents', 'band', 'stored_row'].map((c) => sql.ref(`t.${c}`)),
  );
  let cuts: CutPoints;
  let places: (ThresholdPlace | null)[] = [];
  if (month) {
    // The month's cut points hold (the last refresh used them too): only the day moved, and with it
    // only a tier that depends on the day — lapsed, new — can change for a customer without new orders.
    cuts = await onDay(tx, month, histogram, asOf, settings);
    record('cut points', cuts.buyers, start);
    start = performance.now();
    await sql`create temp table measures_next on commit drop as
      select ${kept} from (${storedKeyed(sql`where ${passedByTheDay(lastAsOf, asOf, settings)} and ${notInBatch}`, STORED_ROW)}) t`.execute(
      tx.db,
    );
    record('moved by the day', await countOf(tx, 'measures_next'), start);
  } else {
    const byScore = await cutPointsByScore(
      tx,
      [
        { rows: storedKeyed(sql``), sign: 1 },
        { rows: batchStored, sign: -1 },
        { rows: batchKeyed, sign: 1 },
      ],
      histogram,
      asOf,
      settings,
    );
    ({ cuts, places } = byScore);
    record('cut points', cuts.buyers, start);

    start = performance.now();
    // The other customers whose scores or tier the new cut points move.
    const storedWithOld = storedKeyed(
      sql`where ${notInBatch}`,
      sql`${STORED_ROW}, m.f_score as old_f, m.m_score as old_m, m.tier as old_tier`,
    );
    // Their keyed rows, kept for the write; with them the customers tied at a threshold's score (whether
    // they are above it depends on the tie-breaks, found among them and the changed customers below). A
    // create … as select is read by parallel workers, an insert … select by one process (measured at 1 M
    // customers: 0.6 s → 0.35 s).
    await inParallel(tx, () =>
      sql`create temp table measures_next on commit drop as
        select ${kept} from (${movedSelect(storedWithOld, settings, cuts)}) t`.execute(tx.db),
    );
    record('moved by the cut points', await countOf(tx, 'measures_next'), start);
  }

  start = performance.now();
  // The rows to write: the moved ones and the changed customers' (with their stored rows' addresses).
  await sql`insert into measures_next
    select b.*, s.stored_row from measures_batch_base b
    left join measures_batch_stored s on s.customer_id = b.customer_id`.execute(tx.db);
  await sql`analyze measures_next`.execute(tx.db);
  const next = sql`select * from measures_next`;
  // New cut points: the thresholds' tie-breaks — every active customer with a threshold's score is in
  // measures_next now.
  if (!month) cuts = await thresholdKeys(tx, cuts, places, next, settings);
  // A few percent of the rows: by their stored rows' addresses, not the hash join over every stored row
  // the planner picks for a CTE of unknown size (measured at 1 M customers: 8 s for 34,000 rows).
  const written = await withPlannerSettings(tx, { enable_hashjoin: 'off', enable_mergejoin: 'off' }, () =>
    writeChanged(tx, finalSelect(next, settings, cuts, { storedRow: true })),
  );
  record('write', written.updated + written.inserted + written.deleted, start);
  // `next` held only the rows written: the totals follow from the last refresh's and the cut points'.
  return {
    written,
    customers: lastCustomers + written.inserted - written.deleted,
    withPurchases: cuts.buyers,
    recomputed,
    cuts,
  };
}

const notInBatch = sql`not exists (select 1 from measures_batch d where d.customer_id = m.customer_id)`;

const countOf = async (tx: Transaction, table: string): Promise<number> => {
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from ${sql.table(table)}`.execute(
    tx.db,
  );
  return rows[0]!.n;
};

/**
 * The stored rows `m` whose tier the as-of day moving from `lastAsOf` to `asOf` may change under the
 * same cut points: the last purchase passing the lapse window (lapsed when as-of day − last day ≥
 * lapsedDays) or the first purchase leaving the new-customer window (new while as-of day − first day <
 * newDays). Two ranges of the purchase-date indexes.
 */
function passedByTheDay(lastAsOf: string, asOf: string, settings: MeasuresSettings): RawBuilder<boolean> {
  const [from, to] = [dayNumber(lastAsOf), dayNumber(asOf)];
  // Days (after, through] as timestamps: the day numbers' midnights, UTC.
  const midnight = (day: number) => sql`(date '1970-01-01' + ${day}::int)::timestamp at time zone 'UTC'`;
  const passed = (column: string, window: number) =>
    sql`(${sql.ref(column)} >= ${midnight(from - window + 1)} and ${sql.ref(column)} < ${midnight(to - window + 1)})`;
  const { lapsedDays, newDays } = settings.tiers;
  return sql<boolean>`(${passed('m.last_purchase_at', lapsedDays)} or ${passed('m.first_purchase_at', newDays)})`;
}

/** Columns a refresh writes besides customer_id, and the part of them that a comparison looks at. */
const WRITTEN = ROW_COLUMNS.filter((c) => c !== 'customer_id');
// as_of, tenure and recency are left out of the comparison: the view shifts an older row to the current
// day, and tenure / recency follow from the purchase dates, which are compared.
const COMPARED = WRITTEN.filter((c) => !['as_of', 'tenure_days', 'recency_days'].includes(c));
const columnsOf = (alias: string, names: readonly string[]) =>
  sql.join(names.map((c) => sql.ref(`${alias}.${c}`)));
const dayOfStored = (column: string) => sql`(${sql.ref(column)} at time zone 'UTC')::date`;

/** The update of stored rows `m` to the rows of `n` where they differ (refreshed_at = now()). */
function updateChanged(join: RawBuilder<boolean>): RawBuilder<unknown> {
  return sql`
    update customer_measure_rows m
    set (${sql.join(WRITTEN.map((c) => sql.ref(c)))}, refreshed_at) = (${columnsOf('n', WRITTEN)}, now())
    from next n
    where ${join}
      and ((${columnsOf('m', COMPARED)}) is distinct from (${columnsOf('n', COMPARED)})
        -- a row written for a later day than this one, or whose days do not follow from its dates
        or m.as_of > n.as_of
        or (m.tenure_days, m.recency_days) is distinct from (m.as_of - ${dayOfStored('m.first_purchase_at')}, m.as_of - ${dayOfStored('m.last_purchase_at')}))
    returning 1`;
}

const ALL = sql.join(ROW_COLUMNS.map((c) => sql.ref(c)));

/**
 * The statement that makes customer_measures equal to `next` (ROW_COLUMNS, one row per unmerged
 * customer): rows whose values differ are updated, missing ones inserted, customers no longer in `next`
 * (merged) removed; unchanged rows are not written. One statement, so one snapshot.
 */
export function writeStatement(next: RawBuilder<unknown>): RawBuilder<WriteCounts> {
  return sql<WriteCounts>`
    with next as materialized (select ${ALL} from (${next}) x
    ), updated as (${updateChanged(sql`n.customer_id = m.customer_id`)}
    ), inserted as (
      insert into customer_measure_rows (${ALL})
      select ${ALL} from next n
      where not exists (select 1 from customer_measure_rows m where m.customer_id = n.customer_id)
      returning 1
    ), deleted as (
      -- next holds exactly the unmerged customers
      delete from customer_measure_rows m
      where not exists (select 1 from customers c where c.id = m.customer_id and c.merged_into_customer_id is null)
      returning 1
    )
    select (select count(*) from updated)::int as updated, (select count(*) from inserted)::int as inserted,
           (select count(*) from deleted)::int as deleted, (select count(*) from next)::int as customers,
           (select count(*) from next where orders_count > 0)::int as with_purchases`;
}

/**
 * The incremental refresh's write: `next` holds the rows of the changed customers (measures_batch) and of
 * those the cut points moved, each with `stored_row`, its stored row's address (null: a new customer).
 * Stored rows are updated where they differ, new customers' inserted, and the changed customers without
 * new measures (merged away: no row in measures_batch_base) removed.
 */
async function writeChanged(tx: Transaction, next: RawBuilder<unknown>): Promise<RefreshResult['written']> {
  const { rows } = await sql<RefreshResult['written']>`
    -- in customer order, the order of the table and of every index's customer ids: fewer pages visited
    with next as materialized (select ${ALL}, x.stored_row from (${next}) x order by x.customer_id
    ), updated as (${updateChanged(sql`m.ctid = n.stored_row`)}
    ), inserted as (
      insert into customer_measure_rows (${ALL}) select ${ALL} from next n where n.stored_row is null
      returning 1
    ), deleted as (
      delete from customer_measure_rows m
      where m.customer_id in (select customer_id from measures_batch except select customer_id from measures_batch_base)
      returning 1
    )
    select (select count(*) from updated)::int as updated, (select count(*) from inserted)::int as inserted,
           (select count(*) from deleted)::int as deleted`.execute(tx.db);
  return rows[0]!;
}

type WriteCounts = {
  updated: number;
  inserted: number;
  deleted: number;
  customers: number;
  with_purchases: number;
};

/**
 * The first refresh (no rows yet): every row of `next` inserted as it comes, without the comparison with
 * stored rows — which would hold the million rows in a materialised CTE first (spilled to disk: 7 s of
 * PGlite's 33 s write at 1 M customers). The secondary indexes (segments read the rows by tier, RFM group,
 * first and last purchase) are dropped first and built again after the insert, from their own definitions
 * in the catalog: building an index over a million rows once is a fraction of keeping it up to date row by
 * row. Their drop locks the (empty) table until the refresh commits: readers wait for the first measures
 * instead of seeing none.
 */
async function fillMeasures(
  tx: Transaction,
  next: RawBuilder<unknown>,
): Promise<Omit<Outcome, 'recomputed' | 'cuts'>> {
  const { rows: indexes } = await sql<{ name: string; definition: string }>`
    select i.indexname as name, i.indexdef as definition
    from pg_indexes i
    where i.schemaname = current_schema() and i.tablename = 'customer_measure_rows'
      and not exists (select 1 from pg_constraint c where c.conname = i.indexname)
    order by i.indexname`.execute(tx.db);
  for (const { name } of indexes) await sql`drop index ${sql.id(name)}`.execute(tx.db);
  const all = sql.join(ROW_COLUMNS.map((c) => sql.ref(c)));
  const { rows } = await sql<{ customers: number; with_purchases: number }>`
    with inserted as (
      insert into customer_measure_rows (${all}) select ${all} from (${next}) x returning orders_count
    )
    select count(*)::int as customers, (count(*) filter (where orders_count > 0))::int as with_purchases
    from inserted`.execute(tx.db);
  // The catalog's own `create index …` statements, as they were.
  for (const { definition } of indexes) await sql.raw(definition).execute(tx.db);
  const { customers, with_purchases } = rows[0]!;
  return {
    customers,
    withPurchases: with_purchases,
    written: { updated: 0, inserted: customers, deleted: 0 },
  };
}

async function writeMeasures(
  tx: Transaction,
  next: RawBuilder<unknown>,
): Promise<Omit<Outcome, 'recomputed' | 'cuts'>> {
  const { rows } = await writeStatement(next).execute(tx.db);
  const row = rows[0]!;
  return {
    customers: row.customers,
    withPurchases: row.with_purchases,
    written: { updated: row.updated, inserted: row.inserted, deleted: row.deleted },
  };
}
