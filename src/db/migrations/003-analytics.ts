import { type Kysely, sql } from 'kysely';

/**
 * Relationship analytics (MISSION §4, §8): the per-customer measures as of one date (first/last purchase,
 * spend, margin, RFM scores, tier) that segments, campaigns and the 360 read, and the tier snapshots at
 * each period end that give the loyal share over time and the transitions between tiers.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
-- One row per customer: the measures as of as_of (orders up to the end of that day, UTC).
-- Customers without a purchase have zeros, null dates, null scores and a null tier.
create table customer_measures (
  customer_id bigint primary key references customers (id),
  as_of date not null,
  first_purchase_at timestamptz,
  last_purchase_at timestamptz,
  orders_count integer not null,
  purchase_days integer not null,
  tenure_days integer,
  total_spend numeric(14, 2) not null,
  average_order_value numeric(14, 2),
  gross_margin numeric(14, 2) not null,
  returns_amount numeric(14, 2) not null,
  recency_days integer,
  r_score smallint check (r_score between 1 and 5),
  f_score smallint check (f_score between 1 and 5),
  m_score smallint check (m_score between 1 and 5),
  rfm_cell text,
  rfm_group text,
  tier text check (tier in ('loyal', 'semi_loyal', 'regular', 'new', 'lapsed')),
  tier_rank integer,
  refreshed_at timestamptz not null default now()
);
create index customer_measures_tier_idx on customer_measures (tier);
create index customer_measures_rfm_idx on customer_measures (rfm_group);

-- One row per customer with a purchase by period_end: the tier they had then.
create table tier_snapshots (
  period_end date not null,
  customer_id bigint not null references customers (id),
  tier text not null check (tier in ('loyal', 'semi_loyal', 'regular', 'new', 'lapsed')),
  total_spend numeric(14, 2) not null,
  orders_count integer not null,
  tenure_days integer not null,
  primary key (period_end, customer_id)
);
`.execute(db);
}
