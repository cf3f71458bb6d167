import { sql } from 'kysely';
import { customerClv } from '../analytics/clv/index.ts';
import { type Actor, canReadComplaintText } from '../auth/index.ts';
import type { Database, InteractionChannel, InteractionKind, InteractionStatus, Tier } from '../db/index.ts';
// The redaction module alone, not the service index: that index reaches back into customers (a cycle).
import { type Redacted, redactInteractions } from '../service/redaction.ts';
import { listPreferenceNotes, type PreferenceNote } from './preferences.ts';
import {
  customerTimeline,
  type InteractionEvent,
  type StaffRef,
  type StoreRef,
  type TimelineCustomer,
  type TimelineEvent,
  type TimelineOptions,
} from './timeline.ts';

/**
 * The customer 360 (MISSION §1): everything a member of staff needs at the counter or on the phone, in
 * one answer — who they are and what they may be sent, how valuable they are, what they buy, what
 * happened lately, what is still open, what to ask about ("last time you had this problem — how is it
 * now?") and what colleagues at any store noted. Opened on every visit and call, so every part is one
 * query keyed on customer_id and all of them run at once.
 */

/** Resolved complaints and requests are worth asking about for this long. */
export const FOLLOW_UP_DAYS = 90;
export const FAVOURITE_CATEGORIES = 3;
/** More open items than this is a backlog, not a conversation prompt; the newest are shown. */
export const MAX_OPEN_ITEMS = 50;

export type Measures = {
  /** False until `kizuna analytics refresh` has run for this customer; every figure is then null. */
  computed: boolean;
  as_of: string | null;
  tier: Tier | null;
  tier_rank: number | null;
  r_score: number | null;
  f_score: number | null;
  m_score: number | null;
  rfm_cell: string | null;
  rfm_group: string | null;
  total_spend: string | null;
  gross_margin: string | null;
  returns_amount: string | null;
  average_order_value: string | null;
  recency_days: number | null;
  orders_count: number | null;
  tenure_days: number | null;
};

export type LifetimeValue = {
  clv: string | null;
  expected_spend: string | null;
  expected_purchases_next_year: number;
  probability_alive: number;
  computed_at: string;
  model: { id: number; purchase_model: string; calibration_end: string };
};

export type FavouriteCategory = { category: string; spend: string; share: number };

/** Live from the orders (not the measures, which are as of their last refresh). */
export type PurchaseSummary = {
  first_purchase_at: string | null;
  last_purchase_at: string | null;
  orders_count: number;
  total_spend: string;
  returns_amount: string;
  /** Top categories by spend on order lines; share is of all line spend (0–1). */
  favourite_categories: FavouriteCategory[];
};

export type OpenInteraction = {
  id: number;
  interaction_kind: InteractionKind;
  channel: InteractionChannel;
  status: InteractionStatus;
  subject: string | null;
  body: string | null;
  /** True when the body is a complaint's, left out for the reader's role. */
  bodyRedacted: boolean;
  store: StoreRef | null;
  owner: StaffRef | null;
  opened_at: string;
  first_response_at: string | null;
};

export type FollowUpPrompt = {
  interaction_id: number;
  interaction_kind: 'complaint' | 'request';
  subject: string | null;
  status: InteractionStatus;
  opened_at: string;
  resolved_at: string | null;
  store: StoreRef | null;
  /** A sentence staff can say or adapt. */
  prompt: string;
};

export type Customer360 = {
  customer: TimelineCustomer & { erased: boolean };
  measures: Measures;
  lifetime_value: LifetimeValue | null;
  purchases: PurchaseSummary;
  timeline: {
    events: (Exclude<TimelineEvent, InteractionEvent> | Redacted<InteractionEvent>)[];
    has_more: boolean;
  };
  open_interactions: OpenInteraction[];
  follow_ups: FollowUpPrompt[];
  /** The notes in force (obsolete ones are in GET /api/customers/:id/preferences?includeObsolete=true). */
  preference_notes: PreferenceNote[];
  /** True when complaint bodies were removed for the reader's role. */
  complaint_text_hidden: boolean;
};

export type Customer360Options = {
  timeline?: TimelineOptions;
  /** The moment follow-ups are judged at (tests); now by default. */
  now?: Date;
};

const NO_MEASURES: Measures = {
  computed: false,
  as_of: null,
  tier: null,
  tier_rank: null,
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
      'tier_rank',
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
        eb('i.status', 'in', ['open', 'waiting']),
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

/**
 * The customer 360 as `actor` sees it: complaint bodies hidden for the roles the owner's rule names.
 * The caller has checked the customer is in the actor's scope. 404 when there is no such customer.
 */
export async function customer360(
  database: Database,
  actor: Actor,
  customerId: number,
  options: Customer360Options = {},
): Promise<Customer360> {
  const now = options.now ?? new Date();
  const followUpSince = new Date(now.getTime() - FOLLOW_UP_DAYS * 86_400_000);
  const [timeline, measured, clv, purchases, interactions, notes, canRead] = await Promise.all([
    customerTimeline(database, customerId, options.timeline),
    measures(database, customerId),
    lifetimeValue(database, customerId),
    purchaseSummary(database, customerId),
    openAndRecent(database, customerId, followUpSince),
    listPreferenceNotes(database, customerId),
    canReadComplaintText(database, actor.role),
  ]);

  const erased = timeline.customer.erased_at !== null;
  // Erasure already removed the personal values; blanking them here as well means a later column that
  // erasure does not know about yet still does not show on an erased customer's page.
  const customer = erased
    ? { ...timeline.customer, ...personalNone(), erased }
    : { ...timeline.customer, erased };

  const events = redactTimelineEvents(timeline.events, canRead);

  const open = interactions
    .filter((i) => i.status === 'open' || i.status === 'waiting')
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
    const unresolved = i.status === 'open' || i.status === 'waiting';
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
    preference_notes: notes,
    complaint_text_hidden: !canRead,
  };
}

/** The timeline's interaction events with complaint text hidden where the reader's role may not read it. */
export function redactTimelineEvents(
  events: readonly TimelineEvent[],
  canReadComplaints: boolean,
): (Exclude<TimelineEvent, InteractionEvent> | Redacted<InteractionEvent>)[] {
  return events.map((event) =>
    event.kind === 'interaction' ? redactInteractions([event], canReadComplaints)[0]! : event,
  );
}
