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
import {
  type CustomerRecord,
  customerRecordJson,
  isoTime,
  staffJson,
  storeJson,
} from './customer-records.ts';

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

/**
 * Events are ordered on their timestamp truncated to milliseconds — the precision JavaScript dates and
 * the API carry — so that two events differing only in microseconds tie, and the tie-break decides.
 */
function atMillis(column: string): RawBuilder<Date> {
  return sql<Date>`date_trunc('milliseconds', ${sql.ref(column)})`;
}

type Query = { customerId: number; before: Date | undefined; fetch: number };

function beforeFilter(column: string, before: Date | undefined): RawBuilder<unknown> {
  return before === undefined ? sql`` : sql`and ${sql.ref(column)} < ${before}`;
}

/*
 * One select per kind. Each gives the kind's newest `fetch` events as rows of (rank, at, id, event):
 * `rank` is the kind's place in TIMELINE_KINDS (the tie-break), `at` the event's time to the
 * millisecond, and `event` the event exactly as the API shows it, built as json in SQL (money cast to
 * text, times written as ISO strings). Each filters on customer_id, so that Citus routes it to one shard.
 */

function orderEvents({ customerId, before, fetch }: Query): RawBuilder<unknown> {
  // The lines of each order in the same statement (no query per order).
  return sql`(
    select 0 as rank, ${atMillis('o.ordered_at')} as at, o.id, json_build_object(
      'kind', 'order', 'at', ${isoTime('o.ordered_at')}, 'id', o.id, 'external_id', o.external_id,
      'store', ${storeJson('s')}, 'currency', btrim(o.currency), 'total', o.total::text,
      'lines', coalesce((
        select json_agg(json_build_object(
          'line_no', ol.line_no, 'sku', p.sku, 'product_name', p.name, 'category', p.category,
          'quantity', ol.quantity, 'unit_price', ol.unit_price::text, 'amount', ol.amount::text
        ) order by ol.line_no)
        from order_lines ol join products p on p.id = ol.product_id
        where ol.customer_id = ${customerId} and ol.order_id = o.id
      ), '[]'::json)
    ) as event
    from orders o
    left join stores s on s.id = o.store_id
    where o.customer_id = ${customerId} ${beforeFilter('o.ordered_at', before)}
    order by ${atMillis('o.ordered_at')} desc, o.id desc
    limit ${fetch}
  )`;
}

function returnEvents({ customerId, before, fetch }: Query): RawBuilder<unknown> {
  // Joined to the order on customer_id too: orders and returns are co-located by customer (Citus). A
  // return without an order has no currency of its own; the schema's default currency applies.
  return sql`(
    select 1 as rank, ${atMillis('r.returned_at')} as at, r.id, json_build_object(
      'kind', 'return', 'at', ${isoTime('r.returned_at')}, 'id', r.id, 'external_id', r.external_id,
      'order_id', r.order_id, 'order_external_id', o.external_id, 'store', ${storeJson('s')},
      'currency', coalesce(btrim(o.currency), 'JPY'), 'sku', p.sku, 'product_name', p.name,
      'category', p.category, 'quantity', r.quantity, 'amount', r.amount::text, 'reason', r.reason
    ) as event
    from returns r
    join products p on p.id = r.product_id
    left join orders o on o.customer_id = r.customer_id and o.id = r.order_id
    left join stores s on s.id = o.store_id
    where r.customer_id = ${customerId} ${beforeFilter('r.returned_at', before)}
    order by ${atMillis('r.returned_at')} desc, r.id desc
    limit ${fetch}
  )`;
}

function touchEvents({ customerId, before, fetch }: Query): RawBuilder<unknown> {
  return sql`(
    select 2 as rank, ${atMillis('t.sent_at')} as at, t.id, json_build_object(
      'kind', 'touch', 'at', ${isoTime('t.sent_at')}, 'id', t.id, 'external_id', t.external_id,
      'channel', t.channel, 'campaign', t.campaign, 'flow', t.flow, 'variant', t.variant,
      'subject', t.subject, 'cost', t.cost::text, 'delivered_at', ${isoTime('t.delivered_at')},
      'opened_at', ${isoTime('t.opened_at')}, 'clicked_at', ${isoTime('t.clicked_at')},
      'bounced_at', ${isoTime('t.bounced_at')}
    ) as event
    from touches t
    where t.customer_id = ${customerId} ${beforeFilter('t.sent_at', before)}
    order by ${atMillis('t.sent_at')} desc, t.id desc
    limit ${fetch}
  )`;
}

function interactionEvents({ customerId, before, fetch }: Query): RawBuilder<unknown> {
  return sql`(
    select 3 as rank, ${atMillis('i.opened_at')} as at, i.id, json_build_object(
      'kind', 'interaction', 'at', ${isoTime('i.opened_at')}, 'id', i.id, 'external_id', i.external_id,
      'interaction_kind', i.kind, 'channel', i.channel, 'status', i.status, 'subject', i.subject,
      'body', i.body, 'store', ${storeJson('s')}, 'owner', ${staffJson('st')},
      'duration_seconds', i.duration_seconds, 'opened_at', ${isoTime('i.opened_at')},
      'first_response_at', ${isoTime('i.first_response_at')}, 'resolved_at', ${isoTime('i.resolved_at')}
    ) as event
    from interactions i
    left join stores s on s.id = i.store_id
    left join staff st on st.id = i.owner_staff_id
    where i.customer_id = ${customerId} ${beforeFilter('i.opened_at', before)}
    order by ${atMillis('i.opened_at')} desc, i.id desc
    limit ${fetch}
  )`;
}

function preferenceEvents({ customerId, before, fetch }: Query): RawBuilder<unknown> {
  return sql`(
    select 4 as rank, ${atMillis('pr.noted_at')} as at, pr.id, json_build_object(
      'kind', 'preference', 'at', ${isoTime('pr.noted_at')}, 'id', pr.id, 'external_id', pr.external_id,
      'key', pr.key, 'value', pr.value, 'note', pr.note, 'source', pr.source,
      'store', ${storeJson('s')}, 'author', ${staffJson('st')},
      'obsolete', pr.obsolete_at is not null, 'obsolete_at', ${isoTime('pr.obsolete_at')}
    ) as event
    from preferences pr
    left join stores s on s.id = pr.store_id
    left join staff st on st.id = pr.author_staff_id
    where pr.customer_id = ${customerId} ${beforeFilter('pr.noted_at', before)}
    order by ${atMillis('pr.noted_at')} desc, pr.id desc
    limit ${fetch}
  )`;
}

const EVENT_QUERIES: Record<TimelineKind, (query: Query) => RawBuilder<unknown>> = {
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

/** The validated paging of a timeline: at most `limit` events, strictly before `before`, of `kinds`. */
export type TimelinePage = { limit: number; before: Date | undefined; kinds: TimelineKind[] };

export function timelinePage(options: TimelineOptions = {}): TimelinePage {
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
  return { limit, before, kinds };
}

/**
 * The newest `limit + 1` events of the page as one json array, in timeline order (compareEvents), for
 * use inside a larger statement. The newest `limit` events overall are always among the newest
 * `limit + 1` of each kind, so each kind's select stops there; the extra event, when there is one, tells
 * that more exist (see `timelineFromEvents`).
 */
export function timelineEventsJson(customerId: number, page: TimelinePage): RawBuilder<TimelineEvent[]> {
  if (page.kinds.length === 0) return sql<TimelineEvent[]>`'[]'::json`;
  const query: Query = { customerId, before: page.before, fetch: page.limit + 1 };
  const perKind = sql.join(
    page.kinds.map((kind) => EVENT_QUERIES[kind](query)),
    sql`\n    union all\n    `,
  );
  return sql<TimelineEvent[]>`(
    select coalesce(json_agg(e.event order by e.at desc, e.rank, e.id desc), '[]'::json)
    from (
      select * from (
        ${perKind}
      ) per_kind
      order by at desc, rank, id desc
      limit ${query.fetch}
    ) e
  )`;
}

/** The events for the answer, and whether more exist, from what `timelineEventsJson` returned. */
export function timelineFromEvents(
  events: TimelineEvent[],
  page: TimelinePage,
): { events: TimelineEvent[]; has_more: boolean } {
  return { events: events.slice(0, page.limit), has_more: events.length > page.limit };
}

/**
 * One customer's identity and events, newest first, in one statement: the record and the merged events
 * (see `timelineEventsJson`). Throws `customer_not_found` (404) when there is no such customer.
 */
export async function customerTimeline(
  database: Database,
  customerId: number,
  options: TimelineOptions = {},
): Promise<Timeline> {
  const page = timelinePage(options);
  // One row: the customer's record (null when there is no such customer) and the page's events.
  const result = await sql<{ customer: CustomerRecord | null; events: TimelineEvent[] }>`
    select ${customerRecordJson(customerId)} as customer,
           ${timelineEventsJson(customerId, page)} as events`.execute(database.db);
  const row = result.rows[0];
  if (!row?.customer) {
    throw new KizunaError('customer_not_found', `No customer with id ${customerId}`, { status: 404 });
  }
  return { customer: row.customer, ...timelineFromEvents(row.events, page) };
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
