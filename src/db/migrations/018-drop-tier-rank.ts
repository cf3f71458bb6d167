import { type Kysely, sql } from 'kysely';

/**
 * `tier_rank` goes (issue #4). Since migration 015 the tiers come from cut points, not from positions:
 * a position 1…N changes for everyone whenever anyone buys, so the refresh stopped storing it and the
 * column has been null ever since. The view `customer_measures` and its instead-of insert are made again
 * without it (a view's column cannot be dropped in place); everything else is as in migration 015.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
drop view customer_measures;
alter table customer_measure_rows drop column tier_rank;

create view customer_measures as
select m.customer_id,
       greatest(m.as_of, (select r.as_of from measures_refreshes r order by r.id desc limit 1)) as as_of,
       m.first_purchase_at, m.last_purchase_at, m.orders_count, m.purchase_days,
       m.tenure_days + (greatest(m.as_of, (select r.as_of from measures_refreshes r order by r.id desc limit 1)) - m.as_of) as tenure_days,
       m.total_spend, m.average_order_value, m.gross_margin, m.returns_amount,
       m.recency_days + (greatest(m.as_of, (select r.as_of from measures_refreshes r order by r.id desc limit 1)) - m.as_of) as recency_days,
       m.r_score, m.f_score, m.m_score, m.rfm_cell, m.rfm_group, m.tier, m.refreshed_at
from customer_measure_rows m;

create or replace function customer_measures_insert() returns trigger language plpgsql as $$
begin
  insert into customer_measure_rows (customer_id, as_of, first_purchase_at, last_purchase_at, orders_count,
    purchase_days, tenure_days, total_spend, average_order_value, gross_margin, returns_amount, recency_days,
    r_score, f_score, m_score, rfm_cell, rfm_group, tier, refreshed_at,
    first_day, last_day, spend_cents, spend_band)
  values (new.customer_id, new.as_of, new.first_purchase_at, new.last_purchase_at, new.orders_count,
    new.purchase_days, new.tenure_days, new.total_spend, new.average_order_value, new.gross_margin,
    new.returns_amount, new.recency_days, new.r_score, new.f_score, new.m_score, new.rfm_cell, new.rfm_group,
    new.tier, coalesce(new.refreshed_at, now()),
    (new.first_purchase_at at time zone 'UTC')::date - date '1970-01-01',
    (new.last_purchase_at at time zone 'UTC')::date - date '1970-01-01',
    (new.total_spend * 100)::int8,
    case when (new.total_spend * 100)::int8 < 1000 then (new.total_spend * 100)::int8
      else (new.total_spend * 100)::int8 / (10::int8 ^ (length(((new.total_spend * 100)::int8)::text) - 3))::int8
        * (10::int8 ^ (length(((new.total_spend * 100)::int8)::text) - 3))::int8 end);
  return new;
end $$;

create trigger customer_measures_insert instead of insert on customer_measures
  for each row execute function customer_measures_insert();
`.execute(db);
}
