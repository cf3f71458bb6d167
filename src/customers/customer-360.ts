import { type RawBuilder, sql } from 'kysely';
import { type Actor, canReadComplaintText } from '../auth/index.ts';
import type { Database, InteractionChannel, InteractionKind, InteractionStatus, Tier } from '../db/index.ts';
import { KizunaError } from '../errors.ts';
// The redaction module alone, not the service index: that index reaches back into customers (a cycle).
import { type Redacted, redactInteractions } from '../service/redaction.ts';
import { customerRecordJson, isoTime, staffJson, storeJson } from './customer-records.ts';
import { type PreferenceNote, preferenceNotesJson } from './preferences.ts';
import {
  type InteractionEvent,
  type StaffRef,
  type StoreRef,
  type TimelineCustomer,
  type TimelineEvent,
  type TimelineOptions,
  timelineEventsJson,
  timelineFromEvents,
  timelinePage,
} from './timeline.ts';

/**
 * The customer 360 (MISSION §1): everything a member of staff needs at the counter or on the phone, in
 * one answer — who they are and what they may be sent, how valuable they are, what they buy, what
 * happened lately, what is still open, what to ask about ("last time you had this problem — how is it
 * now?") and what colleagues at any store noted. Opened on every visit and call, so the whole answer is
 * one statement: each section a subquery keyed on customer_id (Citus routes them all to the customer's
 * shard) that builds its part as json in the shape the API returns — money cast to text, times written
 * as ISO strings — so that the server only parses it. Each statement costs the server far more CPU
 * (building, protocol, parsing) than the database spends on these index lookups.
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

export type DueFollowUp = {
  id: number;
  interaction_id: number;
  due_at: string;
  prompt: string;
  assignee_staff_id: number | null;
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
  /** The service desk's follow-up tasks that are due now (scheduled when a complaint or request was resolved). */
  due_follow_ups: DueFollowUp[];
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

/** The refreshed measures as json, or null until `kizuna analytics refresh` has run for the customer. */
function measuresJson(customerId: number): RawBuilder<Measures | null> {
  return sql<Measures | null>`(
    select json_build_object(
      'computed', true, 'as_of', m.as_of, 'tier', m.tier,
      'r_score', m.r_score, 'f_score', m.f_score, 'm_score', m.m_score,
      'rfm_cell', m.rfm_cell, 'rfm_group', m.rfm_group, 'total_spend', m.total_spend::text,
      'gross_margin', m.gross_margin::text, 'returns_amount', m.returns_amount::text,
      'average_order_value', m.average_order_value::text, 'recency_days', m.recency_days,
      'orders_count', m.orders_count, 'tenure_days', m.tenure_days
    )
    from customer_measures m
    where m.customer_id = ${customerId}
  )`;
}

/** A float for json: JSON has no NaN or Infinity, so they become null (as JSON.stringify writes them). */
function jsonFloat(column: string): RawBuilder<number | null> {
  return sql<number | null>`case when ${sql.ref(column)} in ('NaN', 'Infinity', '-Infinity') then null
    else ${sql.ref(column)} end`;
}

/** The stored lifetime value and the model that gave it, as json; null when none was predicted. */
function lifetimeValueJson(customerId: number): RawBuilder<LifetimeValue | null> {
  return sql<LifetimeValue | null>`(
    select json_build_object(
      'clv', v.clv::text, 'expected_spend', v.expected_spend::text,
      'expected_purchases_next_year', ${jsonFloat('v.expected_purchases_next_year')},
      'probability_alive', ${jsonFloat('v.probability_alive')},
      'computed_at', ${isoTime('v.computed_at')},
      'model', json_build_object(
        'id', cm.id, 'purchase_model', cm.purchase_model, 'calibration_end', cm.calibration_end
      )
    )
    from customer_clv v
    join clv_models cm on cm.id = v.model_id
    where v.customer_id = ${customerId}
  )`;
}

/**
 * The purchase summary as json, live from the orders: order totals, returns, and the top categories by
 * line spend with their share of all line spend (the window runs over every category before the limit).
 */
function purchaseSummaryJson(customerId: number): RawBuilder<PurchaseSummary> {
  return sql<PurchaseSummary>`(
    select json_build_object(
      'first_purchase_at', ${isoTime('o.first_purchase_at')},
      'last_purchase_at', ${isoTime('o.last_purchase_at')},
      'orders_count', o.orders_count,
      'total_spend', o.total_spend::text,
      'returns_amount', (
        select coalesce(sum(r.amount), 0)::text from returns r where r.customer_id = ${customerId}
      ),
      'favourite_categories', coalesce((
        select json_agg(json_build_object(
          'category', t.category, 'spend', t.spend::text, 'share', round(coalesce(t.share, 0), 4)::float8
        ) order by t.spend desc, t.category)
        from (
          select p.category, sum(ol.amount) as spend,
                 sum(ol.amount) / nullif(sum(sum(ol.amount)) over (), 0) as share
          from order_lines ol join products p on p.id = ol.product_id
          where ol.customer_id = ${customerId}
          group by p.category
          order by spend desc, p.category
          limit ${FAVOURITE_CATEGORIES}
        ) t
      ), '[]'::json)
    )
    from (
      select count(*)::int as orders_count, coalesce(sum(total), 0) as total_spend,
             min(ordered_at) as first_purchase_at, max(ordered_at) as last_purchase_at
      from orders
      where customer_id = ${customerId}
    ) o
  )`;
}

/** An open interaction, or a complaint or request resolved lately (times as ISO strings). */
type OpenOrRecent = {
  id: number;
  kind: InteractionKind;
  channel: InteractionChannel;
  status: InteractionStatus;
  subject: string | null;
  body: string | null;
  opened_at: string;
  first_response_at: string | null;
  resolved_at: string | null;
  store: StoreRef | null;
  owner: StaffRef | null;
};

/** Open interactions and the complaints/requests worth a follow-up, newest first, as one json array. */
function openAndRecentJson(customerId: number, followUpSince: Date): RawBuilder<OpenOrRecent[]> {
  return sql<OpenOrRecent[]>`coalesce((
    select json_agg(json_build_object(
      'id', i.id, 'kind', i.kind, 'channel', i.channel, 'status', i.status, 'subject', i.subject,
      'body', i.body, 'opened_at', ${isoTime('i.opened_at')},
      'first_response_at', ${isoTime('i.first_response_at')}, 'resolved_at', ${isoTime('i.resolved_at')},
      'store', ${storeJson('s')}, 'owner', ${staffJson('st')}
    ) order by i.opened_at desc, i.id desc)
    from (
      select *
      from interactions
      where customer_id = ${customerId}
        and (status in ('new', 'open', 'waiting')
             or (kind in ('complaint', 'request') and resolved_at >= ${followUpSince}))
      order by opened_at desc, id desc
      limit ${2 * MAX_OPEN_ITEMS}
    ) i
    left join stores s on s.id = i.store_id
    left join staff st on st.id = i.owner_staff_id
  ), '[]'::json)`;
}

/** The follow-up tasks due at `now`, soonest first (follow_ups, state due). */
function dueFollowUpsJson(customerId: number, now: Date): RawBuilder<DueFollowUp[]> {
  return sql<DueFollowUp[]>`coalesce((
    select json_agg(json_build_object(
      'id', f.id, 'interaction_id', f.interaction_id, 'due_at', ${isoTime('f.due_at')},
      'prompt', f.prompt, 'assignee_staff_id', f.assignee_staff_id
    ) order by f.due_at, f.id)
    from follow_ups f
    where f.customer_id = ${customerId} and f.state = 'due' and f.due_at <= ${now}
  ), '[]'::json)`;
}

/** The day of an ISO time, e.g. 2024-04-01. */
const day = (iso: string) => iso.slice(0, 10);

function followUpPrompt(
  kind: 'complaint' | 'request',
  subject: string | null,
  opened: string,
  resolved: string | null,
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
  const page = timelinePage(options.timeline);
  // One statement, one row: every section of this customer's 360, each a json value (see above). The
  // owner's complaint rule is read from the settings cache, mostly without a statement.
  const [result, canRead] = await Promise.all([
    sql<{
      customer: TimelineCustomer | null;
      events: TimelineEvent[];
      measures: Measures | null;
      lifetime_value: LifetimeValue | null;
      purchases: PurchaseSummary;
      interactions: OpenOrRecent[];
      notes: PreferenceNote[];
      due_follow_ups: DueFollowUp[];
    }>`
      select ${customerRecordJson(customerId)} as customer,
             ${timelineEventsJson(customerId, page)} as events,
             ${measuresJson(customerId)} as measures,
             ${lifetimeValueJson(customerId)} as lifetime_value,
             ${purchaseSummaryJson(customerId)} as purchases,
             ${openAndRecentJson(customerId, followUpSince)} as interactions,
             ${preferenceNotesJson(customerId, { includeObsolete: false })} as notes,
             ${dueFollowUpsJson(customerId, now)} as due_follow_ups`.execute(database.db),
    canReadComplaintText(database, actor.role),
  ]);
  const row = result.rows[0];
  if (!row?.customer) {
    throw new KizunaError('customer_not_found', `No customer with id ${customerId}`, { status: 404 });
  }
  const timeline = { customer: row.customer, ...timelineFromEvents(row.events, page) };
  const interactions = row.interactions;

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
      opened_at: i.opened_at,
      first_response_at: i.first_response_at,
    }));
  const open_interactions: OpenInteraction[] = redactInteractions(open, canRead);

  const follow_ups: FollowUpPrompt[] = interactions.flatMap((i) => {
    if (i.kind !== 'complaint' && i.kind !== 'request') return [];
    const unresolved = i.status === 'new' || i.status === 'open' || i.status === 'waiting';
    const recentlyResolved = i.resolved_at !== null && Date.parse(i.resolved_at) >= followUpSince.getTime();
    if (!unresolved && !recentlyResolved) return [];
    return [
      {
        interaction_id: i.id,
        interaction_kind: i.kind,
        subject: i.subject,
        status: i.status,
        opened_at: i.opened_at,
        resolved_at: i.resolved_at,
        store: i.store,
        prompt: followUpPrompt(i.kind, i.subject, i.opened_at, unresolved ? null : i.resolved_at),
      },
    ];
  });

  return {
    customer,
    measures: row.measures ?? NO_MEASURES,
    lifetime_value: row.lifetime_value,
    purchases: row.purchases,
    timeline: { events, has_more: timeline.has_more },
    open_interactions,
    follow_ups,
    due_follow_ups: row.due_follow_ups,
    preference_notes: row.notes,
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
