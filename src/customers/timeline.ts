import { type RawBuilder, sql } from 'kysely';
import type {
  ConsentChannel,
  Database,
  InteractionChannel,
  InteractionKind,
  InteractionStatus,
  PreferenceSource,
  TouchChannel,
} from '../db/index.ts';
import { KizunaError } from '../errors.ts';
import { type CustomerRecord, customerRecord } from './customer-records.ts';

/**
 * One customer's file (MISSION §1): who they are, what they may be sent, and everything that happened
 * between us — purchases, returns, outbound touches, what they told us, the preference notebook — as one
 * time-ordered list, so staff at any store see "last time you had this problem; how is it now?".
 */

/** Also the tie-break order when two events share a timestamp (earlier in this list comes first). */
export const TIMELINE_KINDS = ['order', 'return', 'touch', 'interaction', 'preference'] as const;
export type TimelineKind = (typeof TIMELINE_KINDS)[number];

export const DEFAULT_TIMELINE_LIMIT = 100;

export type StoreRef = { id: number; code: string; name: string };
export type StaffRef = { id: number; name: string };

export type CurrentConsent = {
  channel: ConsentChannel;
  granted: boolean;
  recorded_at: string;
  source: string;
};

/** The customer at the head of a timeline: their record (see customer-records.ts). */
export type TimelineCustomer = CustomerRecord;

/** Money is numeric(14,2) rendered as an exact decimal string, e.g. "12300.00". */
export type OrderLine = {
  line_no: number;
  sku: string;
  product_name: string;
  category: string;
  quantity: number;
  unit_price: string;
  amount: string;
};

type EventBase = { at: string; id: number };

export type OrderEvent = EventBase & {
  kind: 'order';
  external_id: string;
  store: StoreRef | null;
  currency: string;
  total: string;
  lines: OrderLine[];
};

export type ReturnEvent = EventBase & {
  kind: 'return';
  external_id: string;
  order_id: number | null;
  order_external_id: string | null;
  /** The store of the returned order, when the return is tied to one. */
  store: StoreRef | null;
  currency: string;
  sku: string;
  product_name: string;
  category: string;
  quantity: number;
  amount: string;
  reason: string | null;
};

export type TouchEvent = EventBase & {
  kind: 'touch';
  external_id: string | null;
  channel: TouchChannel;
  campaign: string | null;
  flow: string | null;
  variant: string | null;
  subject: string | null;
  cost: string;
  delivered_at: string | null;
  opened_at: string | null;
  clicked_at: string | null;
  bounced_at: string | null;
};

export type InteractionEvent = EventBase & {
  kind: 'interaction';
  external_id: string | null;
  /** inquiry, request, complaint…; named apart from the event's own `kind`. */
  interaction_kind: InteractionKind;
  channel: InteractionChannel;
  status: InteractionStatus;
  subject: string | null;
  body: string | null;
  store: StoreRef | null;
  owner: StaffRef | null;
  duration_seconds: number | null;
  opened_at: string;
  first_response_at: string | null;
  resolved_at: string | null;
};

export type PreferenceEvent = EventBase & {
  kind: 'preference';
  external_id: string | null;
  key: string | null;
  value: string | null;
  note: string | null;
  source: PreferenceSource;
  store: StoreRef | null;
  author: StaffRef | null;
  obsolete: boolean;
  obsolete_at: string | null;
};

export type TimelineEvent = OrderEvent | ReturnEvent | TouchEvent | InteractionEvent | PreferenceEvent;

export type Timeline = {
  customer: TimelineCustomer;
  /** Newest first; ties on `at` ordered by kind (TIMELINE_KINDS order), then by id, newest id first. */
  events: TimelineEvent[];
  /** True when older events (matching the same filters) exist beyond `limit`. */
  has_more: boolean;
};

export type TimelineOptions = {
  /** At most this many events (default 100). */
  limit?: number;
  /** Only events strictly before this instant (for paging backwards). */
  before?: Date;
  /** Only these kinds (default: all). */
  kinds?: readonly TimelineKind[];
};

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

/** Newest first; then by kind in TIMELINE_KINDS order; then newest id first. */
export function compareEvents(a: TimelineEvent, b: TimelineEvent): number {
  const byTime = Date.parse(b.at) - Date.parse(a.at);
  if (byTime !== 0) return byTime;
  const byKind = TIMELINE_KINDS.indexOf(a.kind) - TIMELINE_KINDS.indexOf(b.kind);
  if (byKind !== 0) return byKind;
  return b.id - a.id;
}

/**
 * One customer's identity and events, newest first. One query per event kind, each filtered on
 * customer_id (so Citus routes it to one shard) and limited to `limit + 1` rows, merged here: the newest
 * `limit` events overall are always among the newest `limit + 1` of each kind, and the extra row tells
 * whether more exist. Throws `customer_not_found` (404) when there is no such customer.
 */
export async function customerTimeline(
  database: Database,
  customerId: number,
  options: TimelineOptions = {},
): Promise<Timeline> {
  const limit = options.limit ?? DEFAULT_TIMELINE_LIMIT;
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new KizunaError('invalid_request', `limit must be a positive integer, not ${limit}`, {
      field: 'limit',
    });
  }
  const before = options.before;
  if (before !== undefined && Number.isNaN(before.getTime())) {
    throw new KizunaError('invalid_request', 'before must be a valid date', { field: 'before' });
  }
  const kinds = TIMELINE_KINDS.filter((kind) => options.kinds?.includes(kind) ?? true);
  const query: Query = { customerId, before, fetch: limit + 1 };
  const [customer, ...perKind] = await Promise.all([
    customerRecord(database.db, customerId),
    ...kinds.map((kind) => EVENT_QUERIES[kind](database, query)),
  ]);
  if (!customer) {
    throw new KizunaError('customer_not_found', `No customer with id ${customerId}`, { status: 404 });
  }
  const events = perKind.flat().sort(compareEvents);
  return { customer, events: events.slice(0, limit), has_more: events.length > limit };
}

const MAX_MERGE_HOPS = 32;

/**
 * Resolves what a user typed — a customer id, an external id or an e-mail address (case-insensitive) —
 * to a customer id, or null. When several match, an id beats an external id beats an e-mail, and among
 * e-mail matches the most recently updated customer wins. A customer merged into another resolves to the
 * surviving customer (following chains of merges).
 */
export async function findCustomer(
  database: Database,
  idOrEmailOrExternalId: string,
): Promise<number | null> {
  const key = idOrEmailOrExternalId.trim();
  if (key === '') return null;
  // Only canonical positive integers are ids: "0001234" is a member number (an external id), not id 1234.
  const id = /^[1-9]\d*$/.test(key) && Number.isSafeInteger(Number(key)) ? Number(key) : null;
  const isEmail = key.includes('@');
  const match = await database.db
    .selectFrom('customers')
    .select(['id', 'merged_into_customer_id'])
    .where((eb) =>
      eb.or([
        ...(id === null ? [] : [eb('id', '=', id)]),
        eb('external_id', '=', key),
        // lower() on both sides: the same folding as the customers_email_idx index, so it is used.
        ...(isEmail ? [eb(eb.fn('lower', ['email']), '=', sql<string>`lower(${key})`)] : []),
      ]),
    )
    .orderBy(sql`case when id = ${id} then 0 when external_id = ${key} then 1 else 2 end`)
    .orderBy('updated_at', 'desc')
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (!match) return null;
  let current = match;
  for (let hop = 0; current.merged_into_customer_id !== null; hop++) {
    if (hop >= MAX_MERGE_HOPS) {
      throw new KizunaError('customer_merge_cycle', `Customer ${match.id} is merged in a cycle`, {
        status: 500,
      });
    }
    const next = await database.db
      .selectFrom('customers')
      .select(['id', 'merged_into_customer_id'])
      .where('id', '=', current.merged_into_customer_id)
      .executeTakeFirst();
    // The foreign key makes a missing target impossible; stop at the last customer that exists.
    if (!next) break;
    current = next;
  }
  return current.id;
}
