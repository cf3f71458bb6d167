import { type RawBuilder, sql } from 'kysely';
import { customerClv } from '../../src/analytics/clv/index.ts';
import { type Actor, canReadComplaintText } from '../../src/auth/index.ts';
import {
  type Customer360,
  type Customer360Options,
  FAVOURITE_CATEGORIES,
  type FavouriteCategory,
  FOLLOW_UP_DAYS,
  type FollowUpPrompt,
  type LifetimeValue,
  MAX_OPEN_ITEMS,
  type Measures,
  type OpenInteraction,
  type PurchaseSummary,
  redactTimelineEvents,
} from '../../src/customers/customer-360.ts';
import type { CustomerRecord } from '../../src/customers/customer-records.ts';
import type { PreferenceNote } from '../../src/customers/preferences.ts';
import {
  type CurrentConsent,
  compareEvents,
  DEFAULT_TIMELINE_LIMIT,
  type InteractionEvent,
  type OrderEvent,
  type OrderLine,
  type PreferenceEvent,
  type ReturnEvent,
  type StaffRef,
  type StoreRef,
  TIMELINE_KINDS,
  type Timeline,
  type TimelineCustomer,
  type TimelineEvent,
  type TimelineKind,
  type TimelineOptions,
  type TouchEvent,
} from '../../src/customers/timeline.ts';
import type { Database } from '../../src/db/index.ts';
import { redactInteractions } from '../../src/service/redaction.ts';

/**
 * The customer 360 and the timeline read the straightforward way — one query per event kind merged in
 * TypeScript, one query per 360 section, rows mapped field by field — as they were read before both
 * became one statement each. The tests compare the one-statement readers with these, byte for byte.
 */

function iso(value: Date): string;
function iso(value: Date | null): string | null;
function iso(value: Date | null): string | null {
  return value === null ? null : value.toISOString();
}

function storeRef(id: number | null, code: string | null, name: string | null): StoreRef | null {
  return id === null || code === null || name === null ? null : { id, code, name };
}

function staffRef(id: number | null, name: string | null): StaffRef | null {
  return id === null || name === null ? null : { id, name };
}

/**
 * Every event query orders on the timestamp truncated to milliseconds — the precision JavaScript dates
 * and the API carry — then on id, exactly as the merge below does; so each kind's top rows are the rows
 * the merged list needs, even when events differ only in microseconds.
 */
function atMillis(column: string): RawBuilder<Date> {
  return sql<Date>`date_trunc('milliseconds', ${sql.ref(column)})`;
}

function money(column: string): RawBuilder<string> {
  return sql<string>`${sql.ref(column)}::text`;
}

type Query = { customerId: number; before: Date | undefined; fetch: number };

async function orderEvents(database: Database, { customerId, before, fetch }: Query): Promise<OrderEvent[]> {
  // One correlated json_agg per order, inside the same statement: no query per order (no N+1). Money is
  // cast to text first, because json would turn numeric into a float.
  const lines = sql<OrderLine[]>`coalesce((
    select json_agg(json_build_object(
      'line_no', ol.line_no, 'sku', p.sku, 'product_name', p.name, 'category', p.category,
      'quantity', ol.quantity, 'unit_price', ol.unit_price::text, 'amount', ol.amount::text
    ) order by ol.line_no)
    from order_lines ol join products p on p.id = ol.product_id
    where ol.customer_id = ${customerId} and ol.order_id = o.id
  ), '[]'::json)`;
  const rows = await database.db
    .selectFrom('orders as o')
    .leftJoin('stores as s', 's.id', 'o.store_id')
    .select([
      'o.id',
      'o.external_id',
      'o.ordered_at',
      'o.currency',
      money('o.total').as('total'),
      's.id as store_id',
      's.code as store_code',
      's.name as store_name',
      lines.as('lines'),
    ])
    .where('o.customer_id', '=', customerId)
    .$if(before !== undefined, (q) => q.where('o.ordered_at', '<', before!))
    .orderBy(atMillis('o.ordered_at'), 'desc')
    .orderBy('o.id', 'desc')
    .limit(fetch)
    .execute();
  return rows.map((r) => ({
    kind: 'order',
    at: iso(r.ordered_at),
    id: r.id,
    external_id: r.external_id,
    store: storeRef(r.store_id, r.store_code, r.store_name),
    currency: r.currency.trim(),
    total: r.total,
    lines: r.lines,
  }));
}

async function returnEvents(
  database: Database,
  { customerId, before, fetch }: Query,
): Promise<ReturnEvent[]> {
  const rows = await database.db
    .selectFrom('returns as r')
    .innerJoin('products as p', 'p.id', 'r.product_id')
    // Joined on customer_id too: orders and returns are co-located by customer (Citus).
    .leftJoin('orders as o', (join) =>
      join.onRef('o.customer_id', '=', 'r.customer_id').onRef('o.id', '=', 'r.order_id'),
    )
    .leftJoin('stores as s', 's.id', 'o.store_id')
    .select([
      'r.id',
      'r.external_id',
      'r.returned_at',
      'r.order_id',
      'o.external_id as order_external_id',
      'o.currency',
      's.id as store_id',
      's.code as store_code',
      's.name as store_name',
      'p.sku',
      'p.name as product_name',
      'p.category',
      'r.quantity',
      money('r.amount').as('amount'),
      'r.reason',
    ])
    .where('r.customer_id', '=', customerId)
    .$if(before !== undefined, (q) => q.where('r.returned_at', '<', before!))
    .orderBy(atMillis('r.returned_at'), 'desc')
    .orderBy('r.id', 'desc')
    .limit(fetch)
    .execute();
  return rows.map((r) => ({
    kind: 'return',
    at: iso(r.returned_at),
    id: r.id,
    external_id: r.external_id,
    order_id: r.order_id,
    order_external_id: r.order_external_id,
    store: storeRef(r.store_id, r.store_code, r.store_name),
    // A return without an order has no currency of its own; the schema's default currency applies.
    currency: r.currency?.trim() ?? 'JPY',
    sku: r.sku,
    product_name: r.product_name,
    category: r.category,
    quantity: r.quantity,
    amount: r.amount,
    reason: r.reason,
  }));
}

async function touchEvents(database: Database, { customerId, before, fetch }: Query): Promise<TouchEvent[]> {
  const rows = await database.db
    .selectFrom('touches as t')
    .select([
      't.id',
      't.external_id',
      't.channel',
      't.campaign',
      't.flow',
      't.variant',
      't.subject',
      money('t.cost').as('cost'),
      't.sent_at',
      't.delivered_at',
      't.opened_at',
      't.clicked_at',
      't.bounced_at',
    ])
    .where('t.customer_id', '=', customerId)
    .$if(before !== undefined, (q) => q.where('t.sent_at', '<', before!))
    .orderBy(atMillis('t.sent_at'), 'desc')
    .orderBy('t.id', 'desc')
    .limit(fetch)
    .execute();
  return rows.map((r) => ({
    kind: 'touch',
    at: iso(r.sent_at),
    id: r.id,
    external_id: r.external_id,
    channel: r.channel,
    campaign: r.campaign,
    flow: r.flow,
    variant: r.variant,
    subject: r.subject,
    cost: r.cost,
    delivered_at: iso(r.delivered_at),
    opened_at: iso(r.opened_at),
    clicked_at: iso(r.clicked_at),
    bounced_at: iso(r.bounced_at),
  }));
}

async function interactionEvents(
  database: Database,
  { customerId, before, fetch }: Query,
): Promise<InteractionEvent[]> {
  const rows = await database.db
    .selectFrom('interactions as i')
    .leftJoin('stores as s', 's.id', 'i.store_id')
    .leftJoin('staff as st', 'st.id', 'i.owner_staff_id')
    .select([
      'i.id',
      'i.external_id',
      'i.kind',
      'i.channel',
      'i.status',
      'i.subject',
      'i.body',
      's.id as store_id',
      's.code as store_code',
      's.name as store_name',
      'st.id as owner_id',
      'st.name as owner_name',
      'i.duration_seconds',
      'i.opened_at',
      'i.first_response_at',
      'i.resolved_at',
    ])
    .where('i.customer_id', '=', customerId)
    .$if(before !== undefined, (q) => q.where('i.opened_at', '<', before!))
    .orderBy(atMillis('i.opened_at'), 'desc')
    .orderBy('i.id', 'desc')
    .limit(fetch)
    .execute();
  return rows.map((r) => ({
    kind: 'interaction',
    at: iso(r.opened_at),
    id: r.id,
    external_id: r.external_id,
    interaction_kind: r.kind,
    channel: r.channel,
    status: r.status,
    subject: r.subject,
    body: r.body,
    store: storeRef(r.store_id, r.store_code, r.store_name),
    owner: staffRef(r.owner_id, r.owner_name),
    duration_seconds: r.duration_seconds,
    opened_at: iso(r.opened_at),
    first_response_at: iso(r.first_response_at),
    resolved_at: iso(r.resolved_at),
  }));
}

async function preferenceEvents(
  database: Database,
  { customerId, before, fetch }: Query,
): Promise<PreferenceEvent[]> {
  const rows = await database.db
    .selectFrom('preferences as pr')
    .leftJoin('stores as s', 's.id', 'pr.store_id')
    .leftJoin('staff as st', 'st.id', 'pr.author_staff_id')
    .select([
      'pr.id',
      'pr.external_id',
      'pr.key',
      'pr.value',
      'pr.note',
      'pr.source',
      's.id as store_id',
      's.code as store_code',
      's.name as store_name',
      'st.id as author_id',
      'st.name as author_name',
      'pr.noted_at',
      'pr.obsolete_at',
    ])
    .where('pr.customer_id', '=', customerId)
    .$if(before !== undefined, (q) => q.where('pr.noted_at', '<', before!))
    .orderBy(atMillis('pr.noted_at'), 'desc')
    .orderBy('pr.id', 'desc')
    .limit(fetch)
    .execute();
  return rows.map((r) => ({
    kind: 'preference',
    at: iso(r.noted_at),
    id: r.id,
    external_id: r.external_id,
    key: r.key,
    value: r.value,
    note: r.note,
    source: r.source,
    store: storeRef(r.store_id, r.store_code, r.store_name),
    author: staffRef(r.author_id, r.author_name),
    obsolete: r.obsolete_at !== null,
    obsolete_at: iso(r.obsolete_at),
  }));
}

const EVENT_QUERIES: Record<TimelineKind, (database: Database, query: Query) => Promise<TimelineEvent[]>> = {
  order: orderEvents,
  return: returnEvents,
  touch: touchEvents,
  interaction: interactionEvents,
  preference: preferenceEvents,
};

/** The timeline as one query per kind, merged and sorted here. */
export async function referenceTimeline(
  database: Database,
  customerId: number,
  options: TimelineOptions = {},
): Promise<Timeline | null> {
  const limit = options.limit ?? DEFAULT_TIMELINE_LIMIT;
  const kinds = TIMELINE_KINDS.filter((kind) => options.kinds?.includes(kind) ?? true);
  const query: Query = { customerId, before: options.before, fetch: limit + 1 };
  const [customer, ...perKind] = await Promise.all([
    referenceRecord(database, customerId),
    ...kinds.map((kind) => EVENT_QUERIES[kind](database, query)),
  ]);
  if (!customer) return null;
  const events = perKind.flat().sort(compareEvents);
  return { customer, events: events.slice(0, limit), has_more: events.length > limit };
}

async function currentConsents(db: Database['db'], customerId: number): Promise<CurrentConsent[]> {
  // The latest row per channel is in force (ties on time: the later id).
  const rows = await db
    .selectFrom('consents')
    .distinctOn('channel')
    .select(['channel', 'granted', 'recorded_at', 'source'])
    .where('customer_id', '=', customerId)
    .orderBy('channel')
    .orderBy('recorded_at', 'desc')
    .orderBy('id', 'desc')
    .execute();
  return rows.map((c) => ({
    channel: c.channel,
    granted: c.granted,
    recorded_at: c.recorded_at.toISOString(),
    source: c.source,
  }));
}

/** One customer's record with consents in force, or null: the one reader of a customer's identity. */
export async function referenceRecord(
  database: Database,
  customerId: number,
): Promise<CustomerRecord | null> {
  const db = database.db;
  const [row, consents] = await Promise.all([
    db
      .selectFrom('customers as c')
      .leftJoin('stores as s', 's.id', 'c.home_store_id')
      .leftJoin('staff as st', 'st.id', 'c.account_owner_staff_id')
      .leftJoin('customers as r', 'r.id', 'c.referred_by_customer_id')
      .selectAll('c')
      .select([
        's.id as store_id',
        's.code as store_code',
        's.name as store_name',
        'st.id as owner_id',
        'st.name as owner_name',
        'r.id as referrer_id',
        'r.external_id as referrer_external_id',
      ])
      .where('c.id', '=', customerId)
      .executeTakeFirst(),
    currentConsents(db, customerId),
  ]);
  if (!row) return null;
  return {
    id: row.id,
    external_id: row.external_id,
    name: row.name,
    name_kana: row.name_kana,
    email: row.email,
    phone: row.phone,
    postal_code: row.postal_code,
    address: row.address,
    birth_date: row.birth_date,
    tags: row.tags,
    custom_fields: row.custom_fields,
    acquisition_source: row.acquisition_source,
    referred_by:
      row.referrer_id === null ? null : { id: row.referrer_id, external_id: row.referrer_external_id },
    do_not_contact: row.do_not_contact,
    merged_into_customer_id: row.merged_into_customer_id,
    erased_at: row.erased_at?.toISOString() ?? null,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
    home_store:
      row.store_id === null || row.store_code === null || row.store_name === null
        ? null
        : { id: row.store_id, code: row.store_code, name: row.store_name },
    account_owner:
      row.owner_id === null || row.owner_name === null ? null : { id: row.owner_id, name: row.owner_name },
    consents,
  };
}

const NO_MEASURES: Measures = {
  computed: false,
  as_of: null,
  tier: null,
  r_score: null,
  f_score: null,
  m_score: null,
  rfm_cell: null,
  rfm_group: null,
  total_spend: null,
  gross_margin: null,
  returns_amount: null,
  average_order_value: null,
  recency_days: null,
  orders_count: null,
  tenure_days: null,
};

async function measures(database: Database, customerId: number): Promise<Measures> {
  const row = await database.db
    .selectFrom('customer_measures')
    .select([
      'as_of',
      'tier',
      'r_score',
      'f_score',
      'm_score',
      'rfm_cell',
      'rfm_group',
      'total_spend',
      'gross_margin',
      'returns_amount',
      'average_order_value',
      'recency_days',
      'orders_count',
      'tenure_days',
    ])
    .where('customer_id', '=', customerId)
    .executeTakeFirst();
  return row ? { computed: true, ...row } : NO_MEASURES;
}

async function lifetimeValue(database: Database, customerId: number): Promise<LifetimeValue | null> {
  const row = await customerClv(database, customerId);
  if (!row) return null;
  return {
    clv: row.clv,
    expected_spend: row.expected_spend,
    expected_purchases_next_year: row.expected_purchases_next_year,
    probability_alive: row.probability_alive,
    computed_at: row.computed_at.toISOString(),
    model: { id: row.model_id, purchase_model: row.purchase_model, calibration_end: row.calibration_end },
  };
}

/** One statement: order totals, returns and the top categories (money cast to text before json). */
async function purchaseSummary(database: Database, customerId: number): Promise<PurchaseSummary> {
  const result = await sql<{
    orders_count: number;
    total_spend: string;
    first_purchase_at: Date | null;
    last_purchase_at: Date | null;
    returns_amount: string;
    favourite_categories: FavouriteCategory[];
  }>`
with categories as (
  select p.category, sum(ol.amount) as spend
  from order_lines ol join products p on p.id = ol.product_id
  where ol.customer_id = ${customerId}
  group by p.category
), top as (
  select category, spend, spend / nullif(sum(spend) over (), 0) as share
  from categories
  order by spend desc, category
  limit ${FAVOURITE_CATEGORIES}
)
select o.orders_count, o.total_spend::text as total_spend, o.first_purchase_at, o.last_purchase_at,
  (select coalesce(sum(r.amount), 0)::text from returns r where r.customer_id = ${customerId}) as returns_amount,
  coalesce((select json_agg(json_build_object(
      'category', t.category, 'spend', t.spend::text, 'share', round(coalesce(t.share, 0), 4)::float8
    ) order by t.spend desc, t.category) from top t), '[]'::json) as favourite_categories
from (
  select count(*)::int as orders_count, coalesce(sum(total), 0) as total_spend,
         min(ordered_at) as first_purchase_at, max(ordered_at) as last_purchase_at
  from orders where customer_id = ${customerId}
) o`.execute(database.db);
  const row = result.rows[0]!;
  return {
    first_purchase_at: row.first_purchase_at?.toISOString() ?? null,
    last_purchase_at: row.last_purchase_at?.toISOString() ?? null,
    orders_count: row.orders_count,
    total_spend: row.total_spend,
    returns_amount: row.returns_amount,
    favourite_categories: row.favourite_categories,
  };
}

/** Open interactions and the complaints/requests worth a follow-up, in one query. */
async function openAndRecent(database: Database, customerId: number, followUpSince: Date) {
  const rows = await database.db
    .selectFrom('interactions as i')
    .leftJoin('stores as s', 's.id', 'i.store_id')
    .leftJoin('staff as st', 'st.id', 'i.owner_staff_id')
    .select([
      'i.id',
      'i.kind',
      'i.channel',
      'i.status',
      'i.subject',
      'i.body',
      'i.opened_at',
      'i.first_response_at',
      'i.resolved_at',
      's.id as store_id',
      's.code as store_code',
      's.name as store_name',
      'st.id as owner_id',
      'st.name as owner_name',
    ])
    .where('i.customer_id', '=', customerId)
    .where((eb) =>
      eb.or([
        eb('i.status', 'in', ['new', 'open', 'waiting']),
        eb.and([eb('i.kind', 'in', ['complaint', 'request']), eb('i.resolved_at', '>=', followUpSince)]),
      ]),
    )
    .orderBy('i.opened_at', 'desc')
    .orderBy('i.id', 'desc')
    .limit(2 * MAX_OPEN_ITEMS)
    .execute();
  return rows.map((r) => ({
    ...r,
    store:
      r.store_id === null || r.store_code === null || r.store_name === null
        ? null
        : { id: r.store_id, code: r.store_code, name: r.store_name },
    owner: r.owner_id === null || r.owner_name === null ? null : { id: r.owner_id, name: r.owner_name },
  }));
}

const day = (date: Date) => date.toISOString().slice(0, 10);

function followUpPrompt(
  kind: 'complaint' | 'request',
  subject: string | null,
  opened: Date,
  resolved: Date | null,
) {
  const what = subject ? `「${subject}」` : kind === 'complaint' ? 'a problem' : 'a request';
  return resolved === null
    ? `Still open since ${day(opened)}: ${what} — how is it now?`
    : `Last time (${day(opened)}) you had ${what} — how is it now?`;
}

const personalNone = (): Partial<TimelineCustomer> => ({
  external_id: null,
  name: null,
  name_kana: null,
  email: null,
  phone: null,
  postal_code: null,
  address: null,
  birth_date: null,
  tags: [],
  custom_fields: {},
  acquisition_source: null,
  referred_by: null,
  account_owner: null,
  consents: [],
});

async function preferenceNotes(
  database: Database,
  customerId: number,
  options: { includeObsolete: boolean; noteId?: number },
): Promise<PreferenceNote[]> {
  const rows = await database.db
    .selectFrom('preferences as pr')
    .leftJoin('stores as s', 's.id', 'pr.store_id')
    .leftJoin('staff as author', 'author.id', 'pr.author_staff_id')
    .leftJoin('staff as marker', 'marker.id', 'pr.obsoleted_by_staff_id')
    .select([
      'pr.id',
      'pr.key',
      'pr.value',
      'pr.note',
      'pr.source',
      'pr.noted_at',
      'pr.obsolete_at',
      'pr.obsolete_reason',
      's.id as store_id',
      's.code as store_code',
      's.name as store_name',
      'author.id as author_id',
      'author.name as author_name',
      'marker.id as marker_id',
      'marker.name as marker_name',
    ])
    .where('pr.customer_id', '=', customerId)
    .$if(!options.includeObsolete, (q) => q.where('pr.obsolete_at', 'is', null))
    .$if(options.noteId !== undefined, (q) => q.where('pr.id', '=', options.noteId!))
    .orderBy('pr.noted_at', 'desc')
    .orderBy('pr.id', 'desc')
    .execute();
  return rows.map((r) => ({
    id: r.id,
    key: r.key,
    value: r.value,
    note: r.note,
    source: r.source,
    author: r.author_id === null || r.author_name === null ? null : { id: r.author_id, name: r.author_name },
    store:
      r.store_id === null || r.store_code === null || r.store_name === null
        ? null
        : { id: r.store_id, code: r.store_code, name: r.store_name },
    noted_at: r.noted_at.toISOString(),
    obsolete: r.obsolete_at !== null,
    obsolete_at: r.obsolete_at?.toISOString() ?? null,
    obsoleted_by:
      r.marker_id === null || r.marker_name === null ? null : { id: r.marker_id, name: r.marker_name },
    obsolete_reason: r.obsolete_reason,
  }));
}

export async function reference360(
  database: Database,
  actor: Actor,
  customerId: number,
  options: Customer360Options = {},
): Promise<Customer360 | null> {
  const now = options.now ?? new Date();
  const followUpSince = new Date(now.getTime() - FOLLOW_UP_DAYS * 86_400_000);
  const [timeline, measured, clv, purchases, interactions, notes, canRead, due] = await Promise.all([
    referenceTimeline(database, customerId, options.timeline),
    measures(database, customerId),
    lifetimeValue(database, customerId),
    purchaseSummary(database, customerId),
    openAndRecent(database, customerId, followUpSince),
    preferenceNotes(database, customerId, { includeObsolete: false }),
    canReadComplaintText(database, actor.role),
    database.db
      .selectFrom('follow_ups')
      .select(['id', 'interaction_id', 'due_at', 'prompt', 'assignee_staff_id'])
      .where('customer_id', '=', customerId)
      .where('state', '=', 'due')
      .where('due_at', '<=', now)
      .orderBy('due_at')
      .orderBy('id')
      .execute(),
  ]);

  if (!timeline) return null;
  const erased = timeline.customer.erased_at !== null;
  // Erasure already removed the personal values; blanking them here as well means a later column that
  // erasure does not know about yet still does not show on an erased customer's page.
  const customer = erased
    ? { ...timeline.customer, ...personalNone(), erased }
    : { ...timeline.customer, erased };

  const events = redactTimelineEvents(timeline.events, canRead);

  const open = interactions
    .filter((i) => i.status === 'new' || i.status === 'open' || i.status === 'waiting')
    .slice(0, MAX_OPEN_ITEMS)
    .map((i) => ({
      id: i.id,
      interaction_kind: i.kind,
      channel: i.channel,
      status: i.status,
      subject: i.subject,
      body: i.body,
      store: i.store,
      owner: i.owner,
      opened_at: i.opened_at.toISOString(),
      first_response_at: i.first_response_at?.toISOString() ?? null,
    }));
  const open_interactions: OpenInteraction[] = redactInteractions(open, canRead);

  const follow_ups: FollowUpPrompt[] = interactions.flatMap((i) => {
    if (i.kind !== 'complaint' && i.kind !== 'request') return [];
    const unresolved = i.status === 'new' || i.status === 'open' || i.status === 'waiting';
    const recentlyResolved = i.resolved_at !== null && i.resolved_at >= followUpSince;
    if (!unresolved && !recentlyResolved) return [];
    return [
      {
        interaction_id: i.id,
        interaction_kind: i.kind,
        subject: i.subject,
        status: i.status,
        opened_at: i.opened_at.toISOString(),
        resolved_at: i.resolved_at?.toISOString() ?? null,
        store: i.store,
        prompt: followUpPrompt(i.kind, i.subject, i.opened_at, unresolved ? null : i.resolved_at),
      },
    ];
  });

  return {
    customer,
    measures: measured,
    lifetime_value: clv,
    purchases,
    timeline: { events, has_more: timeline.has_more },
    open_interactions,
    follow_ups,
    due_follow_ups: due.map((f) => ({ ...f, due_at: f.due_at.toISOString() })),
    preference_notes: notes,
    complaint_text_hidden: !canRead,
  };
}
