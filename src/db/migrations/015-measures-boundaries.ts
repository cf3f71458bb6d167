import { type Kysely, sql } from 'kysely';

/**
 * Measures that do not go stale overnight (issue #4, incremental refresh at 1 M customers).
 *
 * The stored rows move to `customer_measure_rows`; `customer_measures` becomes a view over them that
 * shows every row as of the last refresh: a row keeps the as-of day it was written on, and the view
 * adds the days since then to its tenure and recency (both are "as-of day − a stored date"). So moving
 * the as-of day on rewrites only the rows whose values change, not every row. Readers keep reading
 * `customer_measures` unchanged; inserts into the view go to the rows table (instead-of trigger),
 * deletes and updates of plain columns pass through.
 *
 * The rows table has no foreign key to customers: it is derived (the refresh removes the rows of
 * customers merged away; erasure and merges delete them through the view), and a key would make the
 * merge move it as if it were the customer's own data.
 *
 * `measures_refreshes.cut_points` keeps the cut points and tier thresholds each refresh used.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
alter table customer_measures rename to customer_measure_rows;
alter table customer_measure_rows drop constraint customer_measures_customer_id_fkey;
-- The integer keys the scores are taken on (day numbers of the first and last purchase, exact cents and
-- the spend band: cents to three significant digits), so that a refresh reads them without arithmetic.
alter table customer_measure_rows add column first_day integer, add column last_day integer,
  add column spend_cents bigint, add column spend_band bigint;
alter table measures_refreshes add column cut_points jsonb;
-- A refresh now rewrites only the rows that change, so pages need no room kept free for updates
-- (migration 008's fillfactor 50), and full pages make the refresh's scans half as long.
alter table customer_measure_rows set (fillfactor = 100);

-- How many buyers in customer_measure_rows have each value of each key (1 last_day, 2 first_day,
-- 3 orders_count, 4 spend_band): the cut points are read from these few thousand rows, not from every
-- customer. The refresh keeps it in step with the rows it writes.
create table measures_histograms (
  kind smallint not null,
  x bigint not null,
  n integer not null,
  primary key (kind, x)
);

create view customer_measures as
select m.customer_id,
       greatest(m.as_of, (select r.as_of from measures_refreshes r order by r.id desc limit 1)) as as_of,
       m.first_purchase_at, m.last_purchase_at, m.orders_count, m.purchase_days,
       m.tenure_days + (greatest(m.as_of, (select r.as_of from measures_refreshes r order by r.id desc limit 1)) - m.as_of) as tenure_days,
       m.total_spend, m.average_order_value, m.gross_margin, m.returns_amount,
       m.recency_days + (greatest(m.as_of, (select r.as_of from measures_refreshes r order by r.id desc limit 1)) - m.as_of) as recency_days,
       m.r_score, m.f_score, m.m_score, m.rfm_cell, m.rfm_group, m.tier, m.tier_rank, m.refreshed_at
from customer_measure_rows m;

create function customer_measures_insert() returns trigger language plpgsql as $$
begin
  insert into customer_measure_rows (customer_id, as_of, first_purchase_at, last_purchase_at, orders_count,
    purchase_days, tenure_days, total_spend, average_order_value, gross_margin, returns_amount, recency_days,
    r_score, f_score, m_score, rfm_cell, rfm_group, tier, tier_rank, refreshed_at,
    first_day, last_day, spend_cents, spend_band)
  values (new.customer_id, new.as_of, new.first_purchase_at, new.last_purchase_at, new.orders_count,
    new.purchase_days, new.tenure_days, new.total_spend, new.average_order_value, new.gross_margin,
    new.returns_amount, new.recency_days, new.r_score, new.f_score, new.m_score, new.rfm_cell, new.rfm_group,
    new.tier, new.tier_rank, coalesce(new.refreshed_at, now()),
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
