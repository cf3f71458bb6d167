import { type RawBuilder, sql } from 'kysely';
import { CLI_ACTOR } from '../auth/index.ts';
import { memberHash } from '../campaigns/assignment.ts';
import type { Database } from '../db/index.ts';
import { getSegment, memberIdsQuery, withDatabaseFacts } from '../segments/index.ts';
import type { Clock } from './clock.ts';
import type { FlowDefinition, Trigger } from './definition.ts';
import { type Flow, listFlows } from './flows.ts';

/**
 * The trigger scan: per switched-on flow, who entered since the last scan. Each flow keeps a watermark
 * (flows.scanned_until); a scan looks at occurrences in (from, now] with from = the watermark less a
 * look-back (LOOKBACK_DAYS, for orders imported or events posted a little late), never before the flow
 * was switched on. The window may overlap the previous one: entry is idempotent, one enrollment per
 * (flow, customer, occurrence) — the unique key — e.g. occurrence `order:123` for a purchase trigger.
 *
 * A new occurrence for a customer who is still in the flow ends the older enrollment first (a second lens
 * purchase restarts the repeat-cycle reminder): as 'goal' when the flow's goal is a purchase and the
 * occurrence is one, else 'superseded'.
 *
 * The holdout is decided at entry: a seeded hash of (seed, flow, customer) — the campaigns' md5 member
 * hash — below the share holds the customer out; a holdout is recorded (state 'held_out') and gets no job.
 */
export const LOOKBACK_DAYS = 2;
const WHOLE_BASE_TRIGGERS = new Set(['lapsed', 'birthday', 'anniversary', 'tier_change', 'segment_entered']);
const WHOLE_BASE_INTERVAL_MS = 3_600_000;
const DAY = 86_400_000;

type Candidates = RawBuilder<{
  customer_id: number;
  occurrence: string;
  occurred_at: Date;
  data: unknown;
}>;

/** 'MM-DD' of each UTC day in (from, to], at most 31 days (a Feb 29 birthday counts on Feb 28 of other years). */
function monthDays(from: Date, to: Date): string[] {
  const days = new Set<string>();
  let ms = Math.max(from.getTime(), to.getTime() - 31 * DAY);
  const start = new Date(ms);
  ms = Date.UTC(start.getUTCFullYear(), start.getUTCMonth(), start.getUTCDate());
  if (ms <= from.getTime()) ms += DAY;
  for (; ms <= to.getTime(); ms += DAY) {
    const d = new Date(ms);
    const md = d.toISOString().slice(5, 10);
    days.add(md);
    const year = d.getUTCFullYear();
    const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
    if (md === '02-28' && !leap) days.add('02-29');
  }
  return [...days];
}

function candidatesOf(trigger: Trigger, from: Date, now: Date): Candidates | null {
  const window = (column: RawBuilder<unknown>) => sql`${column} > ${from} and ${column} <= ${now}`;
  switch (trigger.type) {
    case 'first_purchase':
    case 'nth_purchase': {
      const earlier = trigger.type === 'first_purchase' ? 0 : trigger.n - 1;
      return sql`
        select o.customer_id, 'order:' || o.id::text as occurrence, o.ordered_at as occurred_at, '{}'::jsonb as data
        from orders o
        where ${window(sql.ref('o.ordered_at'))}
          and (select count(*) from orders p where p.customer_id = o.customer_id
               and (p.ordered_at < o.ordered_at or (p.ordered_at = o.ordered_at and p.id < o.id))) = ${earlier}`;
    }
    case 'product_purchase':
      return sql`
        select o.customer_id, 'order:' || o.id::text as occurrence, o.ordered_at as occurred_at,
          jsonb_build_object('cycleDays', min(p.repurchase_cycle_days), 'productIds', jsonb_agg(distinct p.id)) as data
        from orders o
        join order_lines l on l.customer_id = o.customer_id and l.order_id = o.id
        join products p on p.id = l.product_id
        where ${window(sql.ref('o.ordered_at'))}
          and (p.id = any(${trigger.productIds ?? []}::bigint[]) or p.category = any(${trigger.categories ?? []}::text[]))
        group by o.customer_id, o.id, o.ordered_at`;
    case 'birthday': {
      const days = monthDays(from, now);
      return sql`
        select c.id as customer_id, 'birthday:' || ${String(now.getUTCFullYear())} as occurrence,
          ${now}::timestamptz as occurred_at, '{}'::jsonb as data
        from customers c where c.birth_date is not null and to_char(c.birth_date, 'MM-DD') = any(${days}::text[])`;
    }
    case 'anniversary': {
      const days = monthDays(from, now);
      return sql`
        select f.customer_id, 'anniversary:' || ${String(now.getUTCFullYear())} as occurrence,
          ${now}::timestamptz as occurred_at,
          jsonb_build_object('firstPurchaseAt', f.first_at) as data
        from (select customer_id, min(ordered_at) as first_at from orders group by customer_id) f
        where to_char(f.first_at at time zone 'UTC', 'MM-DD') = any(${days}::text[])
          and f.first_at < ${new Date(now.getTime() - 300 * DAY)}`;
    }
    case 'lapsed':
      // The customer's own interval: (last − first) / (orders − 1); lapsed once the time since the last
      // purchase passes max(minDays, factor × interval). The crossing must fall in the window.
      return sql`
        select s.customer_id, 'lapsed:' || s.last_id::text as occurrence, s.crossing as occurred_at,
          jsonb_build_object('intervalDays', round(s.interval_days::numeric, 1), 'lastPurchaseAt', s.last_at) as data
        from (
          select a.*, a.last_at + greatest(${trigger.minDays}::float8, ${trigger.factor}::float8 * a.interval_days)
                 * interval '1 day' as crossing
          from (
            select o.customer_id, count(*) as orders, max(o.ordered_at) as last_at,
              (array_agg(o.id order by o.ordered_at desc, o.id desc))[1] as last_id,
              extract(epoch from max(o.ordered_at) - min(o.ordered_at)) / 86400.0 / (count(*) - 1) as interval_days
            from orders o group by o.customer_id having count(*) >= ${trigger.minOrders}
          ) a
        ) s
        where ${window(sql.ref('s.crossing'))}`;
    case 'tier_change': {
      const into = trigger.into ?? null;
      const out = trigger.from ?? null;
      return sql`
        select m.customer_id,
          'tier:' || coalesce(prev.tier, '-') || '>' || m.tier || ':' || prev.period_end::text as occurrence,
          ${now}::timestamptz as occurred_at,
          jsonb_build_object('from', prev.tier, 'to', m.tier) as data
        from customer_measures m
        join lateral (select s.tier, s.period_end from tier_snapshots s
          where s.customer_id = m.customer_id and s.period_end < m.as_of::date
          order by s.period_end desc limit 1) prev on true
        where m.tier is distinct from prev.tier
          and (${into}::text is null or m.tier = ${into})
          and (${out}::text is null or prev.tier = ${out})`;
    }
    case 'ticket_resolved':
      return sql`
        select i.customer_id, 'ticket:' || i.id::text || ':' || floor(extract(epoch from i.resolved_at))::text as occurrence,
          i.resolved_at as occurred_at,
          jsonb_build_object('interactionId', i.id, 'subject', i.subject, 'kind', i.kind) as data
        from interactions i
        where i.resolved_at is not null and i.status in ('resolved', 'closed') and ${window(sql.ref('i.resolved_at'))}
          and (${trigger.kinds ?? null}::text[] is null or i.kind = any(${trigger.kinds ?? null}::text[]))`;
    case 'event':
      return sql`
        select e.customer_id, 'event:' || e.id::text as occurrence, e.occurred_at, e.data
        from flow_events e where e.name = ${trigger.name} and ${window(sql.ref('e.occurred_at'))}`;
    case 'segment_entered':
      return null;
  }
}

const PURCHASE_TRIGGERS = new Set(['first_purchase', 'nth_purchase', 'product_purchase']);

/** Enrolls the candidates into the flow's current version; returns how many entered (holdouts included). */
async function enroll(
  database: Database,
  flow: Flow,
  definition: FlowDefinition,
  candidates: Candidates,
  now: Date,
): Promise<number> {
  const endOld =
    definition.goal?.kind === 'purchase' && PURCHASE_TRIGGERS.has(definition.trigger.type)
      ? 'goal'
      : 'superseded';
  const hash = memberHash(definition.seed * 100_003 + flow.id, 'h', sql.ref('f.customer_id'));
  const { rows } = await sql<{ entered: number }>`
    with cand as (${candidates}),
    fresh as (
      select distinct on (c.customer_id) c.customer_id, c.occurrence, c.occurred_at, c.data
      from cand c join customers cu on cu.id = c.customer_id
      where cu.merged_into_customer_id is null and cu.erased_at is null
        and not exists (select 1 from flow_enrollments x
          where x.flow_id = ${flow.id} and x.customer_id = c.customer_id and x.occurrence = c.occurrence)
      order by c.customer_id, c.occurred_at desc),
    ended as (
      update flow_enrollments e set state = ${endOld}, exit_reason = 'new_occurrence', finished_at = ${now}, step_index = null
      from fresh f where e.flow_id = ${flow.id} and e.customer_id = f.customer_id and e.state = 'active'
      returning e.customer_id, e.id),
    cancelled as (
      update flow_jobs j set state = 'cancelled', finished_at = ${now}
      from ended x where j.customer_id = x.customer_id and j.enrollment_id = x.id and j.state = 'pending'
      returning j.id),
    inserted as (
      insert into flow_enrollments (customer_id, flow_id, version, occurrence, holdout, state, step_index, trigger_data, entered_at)
      select f.customer_id, ${flow.id}, ${flow.currentVersion}, f.occurrence, h.out,
        case when h.out then 'held_out' else 'active' end, case when h.out then null else 0 end,
        coalesce(f.data, '{}'::jsonb) || jsonb_build_object('occurredAt', f.occurred_at), ${now}
      from fresh f cross join lateral (select ${hash}::float8 / 4294967296.0 < ${definition.holdoutShare} as out) h
      on conflict (flow_id, customer_id, occurrence) do nothing
      returning customer_id, id, holdout),
    jobs as (
      insert into flow_jobs (customer_id, enrollment_id, step_index, due_at)
      select customer_id, id, 0, ${now} from inserted where not holdout
      returning 1)
    -- Data-modifying CTEs run whether or not they are read (ended, cancelled, jobs).
    select (select count(*)::int from inserted) as entered`.execute(database.db);
  return rows[0]?.entered ?? 0;
}

/** The saved segment's new members since the last scan enter (the first scan only remembers). */
async function segmentEntries(
  database: Database,
  flow: Flow,
  definition: FlowDefinition,
  segmentId: number,
  first: boolean,
  now: Date,
): Promise<number> {
  const segment = await getSegment(database, segmentId);
  const scope = await withDatabaseFacts(database, { asOf: now, actor: CLI_ACTOR });
  const members = memberIdsQuery(segment.rules, scope);
  let entered = 0;
  if (!first) {
    entered = await enroll(
      database,
      flow,
      definition,
      sql`select m.id as customer_id, 'segment:' || ${now.toISOString()} as occurrence,
            ${now}::timestamptz as occurred_at, jsonb_build_object('segmentId', ${segmentId}::int) as data
          from (${members}) m
          where not exists (select 1 from flow_segment_members s where s.flow_id = ${flow.id} and s.customer_id = m.id)`,
      now,
    );
  }
  await database.transaction(async (tx) => {
    await tx.db.deleteFrom('flow_segment_members').where('flow_id', '=', flow.id).execute();
    await sql`insert into flow_segment_members (flow_id, customer_id) select ${flow.id}, m.id from (${members}) m`.execute(
      tx.db,
    );
  });
  return entered;
}

export type ScanResult = { flowId: number; name: string; entered: number };

/** Scans every switched-on flow's trigger once; moves each watermark to now. */
export async function scanTriggers(database: Database, clock: Clock): Promise<ScanResult[]> {
  const now = clock.now();
  const results: ScanResult[] = [];
  const flows = (await listFlows(database)).filter((f) => f.enabled);
  if (flows.length === 0) return results;
  const marks = new Map(
    (await database.db.selectFrom('flows').select(['id', 'scanned_until', 'enabled_at']).execute()).map(
      (r) => [Number(r.id), r],
    ),
  );
  for (const flow of flows) {
    const mark = marks.get(flow.id);
    const enabledAt = mark?.enabled_at ?? now;
    const scanned = mark?.scanned_until ?? enabledAt;
    const from = new Date(Math.max(enabledAt.getTime(), scanned.getTime() - LOOKBACK_DAYS * DAY));
    const trigger = flow.definition.trigger;
    // Triggers that read every customer (not just what changed) are scanned at most hourly; skipping a
    // scan loses nothing, since the next one covers the window from the unchanged watermark.
    if (WHOLE_BASE_TRIGGERS.has(trigger.type) && now.getTime() - scanned.getTime() < WHOLE_BASE_INTERVAL_MS) {
      results.push({ flowId: flow.id, name: flow.name, entered: 0 });
      continue;
    }
    let entered = 0;
    if (trigger.type === 'segment_entered') {
      entered = await segmentEntries(
        database,
        flow,
        flow.definition,
        trigger.segmentId,
        scanned.getTime() <= enabledAt.getTime(),
        now,
      );
    } else {
      // Birthdays and anniversaries are days: no look-back (the occurrence key is per year anyway).
      const since = trigger.type === 'birthday' || trigger.type === 'anniversary' ? scanned : from;
      const candidates = candidatesOf(trigger, since, now);
      if (candidates) entered = await enroll(database, flow, flow.definition, candidates, now);
    }
    await database.db.updateTable('flows').set({ scanned_until: now }).where('id', '=', flow.id).execute();
    results.push({ flowId: flow.id, name: flow.name, entered });
  }
  return results;
}
