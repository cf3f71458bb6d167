import { type Kysely, sql } from 'kysely';

/**
 * The recency score, the RFM cell and the RFM group are no longer stored (issue #4): `customer_measures`
 * computes them from the stored last purchase day and the recency cut points of the last refresh
 * (`measures_refreshes.recency_points`, the four day numbers a last purchase day must reach for R = 2 … 5).
 *
 * Why: recency is scored against the other customers, and every day's purchases move its cut points a
 * day on, so every day the customers whose last purchase fell on a cut point's old day change score
 * without having done anything. At 1 M customers they were ~21,500 of the ~36,000 rows an incremental
 * refresh rewrote after a day of orders by 1 % of them (R alone or R and the group) — the largest part
 * of its time. F and M move rarely and the tier is stored for its index, so they stay stored.
 *
 * The RFM group's definition lives here now (first match wins, as `RFM_GROUPS` lists them). Its index
 * goes with the column: a count by RFM group reads every measures row (segment counts by tier, first and
 * last purchase keep theirs). Inserts into the view (tests' fixtures) may no longer give the three
 * computed columns: they follow from last_purchase_at, so the insert refuses them rather than drop them.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  // Written out wherever the view needs R (each subquery is evaluated once per query, not per row).
  const r = sql.raw(
    'recency_score(m.orders_count, m.last_day, (select r.recency_points from measures_refreshes r order by r.id desc limit 1))',
  );
  await sql`
alter table measures_refreshes add column recency_points integer[];
update measures_refreshes
set recency_points = array(
  select p.x::int from jsonb_array_elements_text(cut_points -> 'reach' -> 'r') p (x) order by p.x::int)
where jsonb_typeof(cut_points -> 'reach' -> 'r') = 'array';

drop view customer_measures;
drop index customer_measure_rows_rfm_customer_idx;
alter table customer_measure_rows drop column r_score, drop column rfm_cell, drop column rfm_group;

-- R = 1 + the number of recency points the last purchase day reaches (width_bucket counts the points at
-- or below it in a sorted array); null without a purchase or before any refresh. A plain expression,
-- which the planner writes into the query (inlined): no call per row. (A function for the group, which
-- uses R several times, is not inlined: called per row, a count by group took 4.5 s at 1 M customers.)
create function recency_score(orders_count integer, last_day integer, points integer[]) returns smallint
  language sql immutable parallel safe
  as $$ select (case when orders_count > 0 then 1 + width_bucket(last_day, points) end)::smallint $$;
-- Still a simple view (one table, no join): deletes pass through to the rows.
create view customer_measures as
select m.customer_id,
       greatest(m.as_of, (select r.as_of from measures_refreshes r order by r.id desc limit 1)) as as_of,
       m.first_purchase_at, m.last_purchase_at, m.orders_count, m.purchase_days,
       m.tenure_days + (greatest(m.as_of, (select r.as_of from measures_refreshes r order by r.id desc limit 1)) - m.as_of) as tenure_days,
       m.total_spend, m.average_order_value, m.gross_margin, m.returns_amount,
       m.recency_days + (greatest(m.as_of, (select r.as_of from measures_refreshes r order by r.id desc limit 1)) - m.as_of) as recency_days,
       ${r} as r_score, m.f_score, m.m_score,
       ${r}::text || m.f_score::text || m.m_score::text as rfm_cell,
       case
         when ${r} is null then null
         when ${r} >= 4 and m.f_score >= 4 and m.m_score >= 4 then 'champions'
         when m.f_score = 1 and ${r} >= 4 then 'new'
         when ${r} <= 2 and m.f_score >= 3 then 'at_risk'
         when ${r} <= 2 then 'hibernating'
         when m.f_score >= 4 then 'loyal'
         when ${r} >= 4 then 'promising'
         else 'need_attention'
       end as rfm_group,
       m.tier, m.refreshed_at
from customer_measure_rows m;

create or replace function customer_measures_insert() returns trigger language plpgsql as $$
begin
  if new.r_score is not null or new.rfm_cell is not null or new.rfm_group is not null then
    raise exception 'customer_measures: r_score, rfm_cell and rfm_group are computed from last_purchase_at and the last refresh''s recency points; insert without them'
      using errcode = 'generated_always';
  end if;
  insert into customer_measure_rows (customer_id, as_of, first_purchase_at, last_purchase_at, orders_count,
    purchase_days, tenure_days, total_spend, average_order_value, gross_margin, returns_amount, recency_days,
    f_score, m_score, tier, refreshed_at,
    first_day, last_day, spend_cents, spend_band)
  values (new.customer_id, new.as_of, new.first_purchase_at, new.last_purchase_at, new.orders_count,
    new.purchase_days, new.tenure_days, new.total_spend, new.average_order_value, new.gross_margin,
    new.returns_amount, new.recency_days, new.f_score, new.m_score,
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
