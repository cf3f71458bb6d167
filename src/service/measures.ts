import { sql } from 'kysely';
import { type Interval, wilsonInterval } from '../campaigns/statistics.ts';
import type { Database, InteractionChannel } from '../db/index.ts';
import { KizunaError } from '../errors.ts';
import { loadSlaSetup, slaStateWith } from './sla-policies.ts';
import { loadSlaTickets } from './tickets.ts';

/**
 * Agent and team measures (the Zappos rule: service is judged by satisfaction and by whether the customer
 * comes back, never by sales), and the response-time ↔ retention report. Definitions, also in
 * docs/service-desk.md:
 *
 * - The tickets of a period are those opened in [from, to); a ticket belongs to its assignee
 *   (owner_staff_id) or its team as they are now.
 * - First-response time: first_response_at − opened_at; resolution time: resolved_at − opened_at; both in
 *   wall-clock minutes, median and p90 by percentile_cont (linear interpolation). The business-hours
 *   variant is the SLA clock's elapsed minutes (S1's calendars: opening hours only, waiting for the
 *   customer left out), for tickets an SLA policy covers.
 * - SLA attainment per clock: met / (met + breached) among the tickets whose clock has stopped or is late.
 * - Return rate after contact: the customers whose first ticket resolved in [from, to) was this group's;
 *   index day = the Monday after the week of that resolution (00:00 UTC: weeks keep the comparison query
 *   to one pass per week, not per day); returned = an order in the W days from the index day (W = 90 and
 *   180); counted only when the window has ended by asOf. The comparison: customers with no interaction
 *   from 180 days before the index day to the window's end, matched exactly on the tier of their last
 *   tier snapshot before the index day and on recency (days since their last order before the index
 *   day: none, 0–30, 31–90, 91–180, 181–365, > 365), on the same index day. The comparison rate is the contacted customers' cells' rates averaged over the
 *   contacted customers (direct standardisation); contacted customers whose cell has no comparison
 *   customer are left out of both rates and counted as unmatched.
 */

export const RETURN_WINDOWS = [90, 180] as const;
const DAY_MS = 86_400_000;

export type Percentiles = { n: number; median: number | null; p90: number | null };
export type Rate = { eligible: number; count: number; rate: number | null; interval: Interval | null };

export type ReturnAfterContact = {
  days: number;
  /** Contacted customers whose window ended by asOf. */
  eligible: number;
  /** …of whom a comparison cell existed. */
  matched: number;
  unmatched: number;
  returned: number;
  rate: number | null;
  interval: Interval | null;
  comparisonRate: number | null;
  /** Comparison customer-days: the comparison customers of the matched cells, once per index day. */
  comparisonCustomers: number;
  /** rate − comparisonRate (share points as a fraction). */
  difference: number | null;
};

export type ServiceGroupMeasures = {
  /** Staff or team id; null: unassigned. */
  id: number | null;
  name: string | null;
  tickets: number;
  resolved: number;
  csat: { responses: number; mean: number | null; distribution: [number, number, number, number, number] };
  firstResponseMinutes: Percentiles;
  resolutionMinutes: Percentiles;
  businessFirstResponseMinutes: Percentiles;
  businessResolutionMinutes: Percentiles;
  sla: {
    firstResponse: { met: number; breached: number; attainment: number | null };
    resolution: { met: number; breached: number; attainment: number | null };
  };
  returnAfterContact: ReturnAfterContact[];
};

export type ServiceMeasures = {
  from: string;
  to: string;
  asOf: string;
  by: 'agent' | 'team';
  groups: ServiceGroupMeasures[];
  total: ServiceGroupMeasures;
};

export type MeasuresOptions = {
  from: Date;
  to: Date;
  by?: 'agent' | 'team';
  /** The moment outcome windows must have ended by; default now. */
  asOf?: Date;
};

function checkPeriod(from: Date, to: Date): void {
  if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime())) {
    throw new KizunaError('invalid_period', 'from/to: must be dates', { field: 'from' });
  }
  if (from.getTime() >= to.getTime()) {
    throw new KizunaError('invalid_period', 'to: must be after from', { field: 'to' });
  }
}

/** percentile_cont's linear interpolation, for values computed outside SQL (business minutes). */
export function percentileCont(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const position = p * (sorted.length - 1);
  const low = Math.floor(position);
  const high = Math.ceil(position);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (position - low);
}

function percentiles(values: number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  return { n: sorted.length, median: percentileCont(sorted, 0.5), p90: percentileCont(sorted, 0.9) };
}

export function rateOf(count: number, eligible: number): Rate {
  return {
    eligible,
    count,
    rate: eligible === 0 ? null : count / eligible,
    interval: wilsonInterval(count, eligible),
  };
}

type GroupRow = {
  is_total: boolean;
  id: number | null;
  tickets: number;
  resolved: number;
  csat_n: number;
  csat_mean: number | null;
  s1: number;
  s2: number;
  s3: number;
  s4: number;
  s5: number;
  fr_n: number;
  fr_median: number | null;
  fr_p90: number | null;
  res_n: number;
  res_median: number | null;
  res_p90: number | null;
};

type ContactedRow = {
  customer_id: number;
  group_id: number | null;
  day: Date;
  stratum: string;
  r90: boolean;
  r180: boolean;
};

type CellRow = { day: Date; stratum: string; n90: number; k90: number; n180: number; k180: number };

type SqlRef = ReturnType<typeof sql.ref>;

/** The recency bucket of days from the last order before `day` (null: never bought). */
const recencySql = (last: SqlRef | ReturnType<typeof sql>, day: SqlRef) => sql<string>`case
  when ${last} is null then 'never'
  when ${day} - ${last} <= interval '30 days' then '0-30'
  when ${day} - ${last} <= interval '90 days' then '31-90'
  when ${day} - ${last} <= interval '180 days' then '91-180'
  when ${day} - ${last} <= interval '365 days' then '181-365'
  else '>365' end`;

/** The tier of the last tier snapshot before `day` ('none' without one). */
const tierSql = (customerId: SqlRef, day: SqlRef) => sql<string>`
  coalesce((select ts.tier from tier_snapshots ts
            where ts.customer_id = ${customerId} and ts.period_end < ${day}::date
            order by ts.period_end desc limit 1), 'none')`;

/** The matching stratum: tier and recency at `day`. */
const stratumSql = (customerId: SqlRef, day: SqlRef) => sql<string>`${tierSql(customerId, day)} || '/' ||
  ${recencySql(sql`(select max(o.ordered_at) from orders o where o.customer_id = ${customerId} and o.ordered_at < ${day})`, day)}`;

const returnedSql = (customerId: SqlRef, day: SqlRef, days: number) =>
  sql<boolean>`exists (select 1 from orders o where o.customer_id = ${customerId}
    and o.ordered_at >= ${day} and o.ordered_at < ${day} + make_interval(days => ${days}))`;

/**
 * Return after contact for the customers whose first ticket resolved in [from, to), by the group of that
 * ticket, against matched customers without contact (see the module comment).
 */
async function returnAfterContact(
  database: Database,
  from: Date,
  to: Date,
  asOf: Date,
  groupColumn: 'owner_staff_id' | 'team_id',
): Promise<{ contacted: ContactedRow[]; cells: Map<string, CellRow> }> {
  const contacted = await sql<ContactedRow>`
    with first_resolved as (
      select distinct on (customer_id) customer_id, ${sql.ref(groupColumn)} as group_id,
             date_trunc('week', resolved_at, 'UTC') + interval '7 days' as day
      from interactions
      where resolved_at >= ${from} and resolved_at < ${to}
      order by customer_id, resolved_at, id
    )
    select f.customer_id, f.group_id, f.day,
           ${stratumSql(sql.ref('f.customer_id'), sql.ref('f.day'))} as stratum,
           ${returnedSql(sql.ref('f.customer_id'), sql.ref('f.day'), 90)} as r90,
           ${returnedSql(sql.ref('f.customer_id'), sql.ref('f.day'), 180)} as r180
    from first_resolved f
    join customers c on c.id = f.customer_id
    where c.merged_into_customer_id is null
    order by f.customer_id`.execute(database.db);
  const days = [...new Set(contacted.rows.map((r) => r.day.getTime()))]
    .filter((t) => t + RETURN_WINDOWS[0] * DAY_MS <= asOf.getTime())
    .map((t) => new Date(t));
  const cells = new Map<string, CellRow>();
  if (days.length === 0) return { contacted: contacted.rows, cells };
  const dayList = sql.join(days.map((d) => sql`(${d}::timestamptz)`));
  const pool = await sql<CellRow>`
    with days (day) as (values ${dayList}),
    pool as (
      -- One pass over each customer's orders and contacts per index day (index range scans).
      select d.day, c.id,
             ${tierSql(sql.ref('c.id'), sql.ref('d.day'))} || '/' || ${recencySql(sql.ref('o.last'), sql.ref('d.day'))} as stratum,
             coalesce(o.r90, false) as r90,
             coalesce(o.r180, false) as r180,
             i.n90 = 0 as clean90,
             i.n180 = 0 as clean180
      from days d
      cross join customers c
      cross join lateral (
        select max(ordered_at) filter (where ordered_at < d.day) as last,
               bool_or(ordered_at >= d.day and ordered_at < d.day + interval '90 days') as r90,
               bool_or(ordered_at >= d.day) as r180
        from orders where customer_id = c.id and ordered_at < d.day + interval '180 days') o
      cross join lateral (
        select count(*) filter (where opened_at < d.day + interval '90 days') as n90, count(*) as n180
        from interactions where customer_id = c.id
          and opened_at >= d.day - interval '180 days' and opened_at < d.day + interval '180 days') i
      where c.created_at < d.day and c.merged_into_customer_id is null and c.erased_at is null
    )
    select day, stratum,
           count(*) filter (where clean90)::int as n90,
           count(*) filter (where clean90 and r90)::int as k90,
           count(*) filter (where clean180)::int as n180,
           count(*) filter (where clean180 and r180)::int as k180
    from pool
    group by day, stratum`.execute(database.db);
  for (const cell of pool.rows) cells.set(`${cell.day.getTime()}|${cell.stratum}`, cell);
  return { contacted: contacted.rows, cells };
}

function summariseReturn(
  rows: readonly ContactedRow[],
  cells: Map<string, CellRow>,
  asOf: Date,
): ReturnAfterContact[] {
  return RETURN_WINDOWS.map((days) => {
    const eligible = rows.filter((r) => r.day.getTime() + days * DAY_MS <= asOf.getTime());
    let matched = 0;
    let returned = 0;
    let comparisonSum = 0;
    const comparisonCells = new Set<string>();
    let comparisonCustomers = 0;
    for (const row of eligible) {
      const key = `${row.day.getTime()}|${row.stratum}`;
      const cell = cells.get(key);
      const n = cell ? (days === 90 ? cell.n90 : cell.n180) : 0;
      if (!cell || n === 0) continue;
      const k = days === 90 ? cell.k90 : cell.k180;
      matched += 1;
      if (days === 90 ? row.r90 : row.r180) returned += 1;
      comparisonSum += k / n;
      if (!comparisonCells.has(key)) {
        comparisonCells.add(key);
        comparisonCustomers += n;
      }
    }
    const rate = matched === 0 ? null : returned / matched;
    const comparisonRate = matched === 0 ? null : comparisonSum / matched;
    return {
      days,
      eligible: eligible.length,
      matched,
      unmatched: eligible.length - matched,
      returned,
      rate,
      interval: wilsonInterval(returned, matched),
      comparisonRate,
      comparisonCustomers,
      difference: rate === null || comparisonRate === null ? null : rate - comparisonRate,
    };
  });
}

/** Agent (or team) measures for tickets opened in [from, to). */
export async function serviceMeasures(
  database: Database,
  options: MeasuresOptions,
): Promise<ServiceMeasures> {
  const { from, to } = options;
  checkPeriod(from, to);
  const by = options.by ?? 'agent';
  const asOf = options.asOf ?? new Date();
  const groupColumn = by === 'agent' ? 'owner_staff_id' : 'team_id';
  const minutes = (end: string) => sql`extract(epoch from (${sql.ref(`i.${end}`)} - i.opened_at)) / 60.0`;
  const rows = await sql<GroupRow>`
    select grouping(${sql.ref(`i.${groupColumn}`)}) = 1 as is_total,
           ${sql.ref(`i.${groupColumn}`)} as id,
           count(*)::int as tickets,
           count(i.resolved_at)::int as resolved,
           count(r.score)::int as csat_n,
           avg(r.score)::float8 as csat_mean,
           count(*) filter (where r.score = 1)::int as s1,
           count(*) filter (where r.score = 2)::int as s2,
           count(*) filter (where r.score = 3)::int as s3,
           count(*) filter (where r.score = 4)::int as s4,
           count(*) filter (where r.score = 5)::int as s5,
           count(i.first_response_at)::int as fr_n,
           percentile_cont(0.5) within group (order by ${minutes('first_response_at')}) as fr_median,
           percentile_cont(0.9) within group (order by ${minutes('first_response_at')}) as fr_p90,
           count(i.resolved_at)::int as res_n,
           percentile_cont(0.5) within group (order by ${minutes('resolved_at')}) as res_median,
           percentile_cont(0.9) within group (order by ${minutes('resolved_at')}) as res_p90
    from interactions i
    left join csat_responses r on r.customer_id = i.customer_id and r.interaction_id = i.id
    where i.opened_at >= ${from} and i.opened_at < ${to}
    group by rollup (${sql.ref(`i.${groupColumn}`)})`.execute(database.db);

  const names = new Map<number, string>(
    (by === 'agent'
      ? await database.db.selectFrom('staff').select(['id', 'name']).execute()
      : await database.db.selectFrom('teams').select(['id', 'name']).execute()
    ).map((r) => [r.id, r.name]),
  );

  // Business-hours times and attainment from the SLA clocks of every ticket of the period.
  const slaTickets = await loadSlaTickets(database, {
    statuses: ['new', 'open', 'waiting', 'resolved', 'closed'],
    openedFrom: from,
    openedTo: to,
  });
  const groupOf = new Map<number, number | null>();
  if (slaTickets.length > 0) {
    const owners = await database.db
      .selectFrom('interactions')
      .select(['id', 'owner_staff_id', 'team_id'])
      .where('opened_at', '>=', from)
      .where('opened_at', '<', to)
      .execute();
    for (const o of owners) groupOf.set(o.id, by === 'agent' ? o.owner_staff_id : o.team_id);
  }
  const setup = slaTickets.length > 0 ? await loadSlaSetup(database) : null;
  type Clocks = {
    fr: number[];
    res: number[];
    frMet: number;
    frLate: number;
    resMet: number;
    resLate: number;
  };
  const clocks = new Map<string, Clocks>();
  const clocksOf = (key: string) => {
    let c = clocks.get(key);
    if (!c) {
      c = { fr: [], res: [], frMet: 0, frLate: 0, resMet: 0, resLate: 0 };
      clocks.set(key, c);
    }
    return c;
  };
  for (const ticket of slaTickets) {
    const state = slaStateWith(setup!, ticket.sla, asOf);
    const group = groupOf.get(ticket.interactionId) ?? null;
    for (const key of [String(group), 'total']) {
      const c = clocksOf(key);
      const fr = state.firstResponse;
      if (fr) {
        if (fr.metAt !== null) c.fr.push(fr.elapsedMinutes);
        if (fr.state === 'breached') c.frLate += 1;
        else if (fr.metAt !== null) c.frMet += 1;
      }
      const res = state.resolution;
      if (res) {
        if (res.metAt !== null) c.res.push(res.elapsedMinutes);
        if (res.state === 'breached') c.resLate += 1;
        else if (res.metAt !== null) c.resMet += 1;
      }
    }
  }

  const { contacted, cells } = await returnAfterContact(database, from, to, asOf, groupColumn);
  const share = (met: number, late: number) => (met + late === 0 ? null : met / (met + late));
  const build = (row: GroupRow | undefined, id: number | null, key: string): ServiceGroupMeasures => {
    const c = clocks.get(key) ?? { fr: [], res: [], frMet: 0, frLate: 0, resMet: 0, resLate: 0 };
    const contactedHere = key === 'total' ? contacted : contacted.filter((r) => r.group_id === id);
    return {
      id,
      name: id === null ? null : (names.get(id) ?? null),
      tickets: row?.tickets ?? 0,
      resolved: row?.resolved ?? 0,
      csat: {
        responses: row?.csat_n ?? 0,
        mean: row?.csat_mean ?? null,
        distribution: [row?.s1 ?? 0, row?.s2 ?? 0, row?.s3 ?? 0, row?.s4 ?? 0, row?.s5 ?? 0],
      },
      firstResponseMinutes: { n: row?.fr_n ?? 0, median: row?.fr_median ?? null, p90: row?.fr_p90 ?? null },
      resolutionMinutes: { n: row?.res_n ?? 0, median: row?.res_median ?? null, p90: row?.res_p90 ?? null },
      businessFirstResponseMinutes: percentiles(c.fr),
      businessResolutionMinutes: percentiles(c.res),
      sla: {
        firstResponse: { met: c.frMet, breached: c.frLate, attainment: share(c.frMet, c.frLate) },
        resolution: { met: c.resMet, breached: c.resLate, attainment: share(c.resMet, c.resLate) },
      },
      returnAfterContact: summariseReturn(contactedHere, cells, asOf),
    };
  };
  const groupRows = rows.rows.filter((r) => !r.is_total);
  const ids = new Set<number | null>(groupRows.map((r) => r.id));
  for (const r of contacted) ids.add(r.group_id);
  const groups = [...ids]
    .map((id) =>
      build(
        groupRows.find((r) => r.id === id),
        id,
        String(id),
      ),
    )
    .sort((a, b) => (a.id ?? Infinity) - (b.id ?? Infinity));
  return {
    from: from.toISOString(),
    to: to.toISOString(),
    asOf: asOf.toISOString(),
    by,
    groups,
    total: build(
      rows.rows.find((r) => r.is_total),
      null,
      'total',
    ),
  };
}

export const RESPONSE_BUCKETS = [
  { label: '<1h', maxMinutes: 60 },
  { label: '1-4h', maxMinutes: 240 },
  { label: '4-24h', maxMinutes: 1440 },
  { label: '>=24h', maxMinutes: Infinity },
] as const;
export const NO_RESPONSE = 'no response';

export type RetentionBucket = {
  bucket: string;
  customers: number;
  repeat: Array<{ days: number } & Rate>;
  churn: { days: number } & Rate;
};

export type RetentionReport = {
  from: string;
  to: string;
  asOf: string;
  churnDays: number;
  channels: InteractionChannel[] | null;
  buckets: RetentionBucket[];
};

export type RetentionOptions = {
  from: Date;
  to: Date;
  asOf?: Date;
  /** A customer who has not bought for this many days after the index has churned; default 365. */
  churnDays?: number;
  /** Only tickets that came by these channels (e.g. the written ones); default all. */
  channels?: InteractionChannel[];
};

/**
 * Customers bucketed by the first-response time of their first ticket opened in [from, to) (no response:
 * its own bucket). The index is the first response (the opening for unanswered tickets); per bucket, the
 * share who ordered in the 90 and 180 days after it and the share who did not order in the `churnDays`
 * after it, each among the customers whose window has ended by asOf, with Wilson 95 % intervals.
 */
export async function responseTimeRetention(
  database: Database,
  options: RetentionOptions,
): Promise<RetentionReport> {
  const { from, to } = options;
  checkPeriod(from, to);
  const asOf = options.asOf ?? new Date();
  const churnDays = options.churnDays ?? 365;
  const channels = options.channels && options.channels.length > 0 ? options.channels : null;
  const windows = [...RETURN_WINDOWS, churnDays];
  const rows = await sql<{ minutes: number | null; index_at: Date; bought: Array<boolean> }>`
    with first_ticket as (
      select distinct on (i.customer_id) i.customer_id, i.opened_at, i.first_response_at
      from interactions i
      join customers c on c.id = i.customer_id
      where i.opened_at >= ${from} and i.opened_at < ${to} and c.merged_into_customer_id is null
        ${channels ? sql`and i.channel = any(${channels}::text[])` : sql``}
      order by i.customer_id, i.opened_at, i.id
    )
    select extract(epoch from (f.first_response_at - f.opened_at)) / 60.0 as minutes,
           coalesce(f.first_response_at, f.opened_at) as index_at,
           array[${sql.join(
             windows.map(
               (days) => sql`exists (select 1 from orders o where o.customer_id = f.customer_id
                 and o.ordered_at > coalesce(f.first_response_at, f.opened_at)
                 and o.ordered_at <= coalesce(f.first_response_at, f.opened_at) + make_interval(days => ${days}))`,
             ),
           )}] as bought
    from first_ticket f`.execute(database.db);
  const labels = [...RESPONSE_BUCKETS.map((b) => b.label), NO_RESPONSE];
  const buckets = labels.map((label) => ({ label, rows: [] as typeof rows.rows }));
  for (const row of rows.rows) {
    const minutes = row.minutes === null ? null : Number(row.minutes);
    const index =
      minutes === null ? labels.length - 1 : RESPONSE_BUCKETS.findIndex((b) => minutes < b.maxMinutes);
    buckets[index]!.rows.push(row);
  }
  const ended = (row: { index_at: Date }, days: number) =>
    row.index_at.getTime() + days * DAY_MS <= asOf.getTime();
  return {
    from: from.toISOString(),
    to: to.toISOString(),
    asOf: asOf.toISOString(),
    churnDays,
    channels,
    buckets: buckets.map(({ label, rows: members }) => {
      const rate = (w: number, outcome: (bought: boolean) => boolean) => {
        const eligible = members.filter((r) => ended(r, windows[w]!));
        return rateOf(eligible.filter((r) => outcome(r.bought[w]!)).length, eligible.length);
      };
      return {
        bucket: label,
        customers: members.length,
        repeat: RETURN_WINDOWS.map((days, w) => ({ days, ...rate(w, (bought) => bought) })),
        churn: { days: churnDays, ...rate(windows.length - 1, (bought) => !bought) },
      };
    }),
  };
}
