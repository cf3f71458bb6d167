import { type Kysely, sql } from 'kysely';

/**
 * Incremental measures refresh (issue #4): a log of refreshes (the as-of day and settings an incremental
 * refresh continues from), and the customers whose purchases, lines or returns changed since the last one.
 * Statement-level triggers with transition tables mark them: one `insert … select distinct` per
 * statement (also per COPY), not one per row. A product whose unit cost changes marks its buyers.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
create table measures_refreshes (
  id bigint generated always as identity primary key,
  as_of date not null,
  mode text not null check (mode in ('full', 'incremental')),
  -- The resolved settings as JSON text; an incremental refresh needs exactly the same.
  settings text not null,
  customers integer not null,
  recomputed integer not null,
  seconds double precision not null,
  steps jsonb not null,
  finished_at timestamptz not null default now()
);

-- Customers whose base measures may have changed since the last refresh (filled by triggers).
create table measures_dirty_customers (customer_id bigint primary key);

create function measures_mark_new() returns trigger language plpgsql as $$
begin
  insert into measures_dirty_customers (customer_id)
    select distinct customer_id from new_rows where customer_id is not null
    on conflict do nothing;
  return null;
end $$;

create function measures_mark_old() returns trigger language plpgsql as $$
begin
  insert into measures_dirty_customers (customer_id)
    select distinct customer_id from old_rows where customer_id is not null
    on conflict do nothing;
  return null;
end $$;

create function measures_mark_both() returns trigger language plpgsql as $$
begin
  insert into measures_dirty_customers (customer_id)
    select customer_id from new_rows where customer_id is not null
    union
    select customer_id from old_rows where customer_id is not null
    on conflict do nothing;
  return null;
end $$;

create function measures_mark_customers() returns trigger language plpgsql as $$
begin
  insert into measures_dirty_customers (customer_id)
    select id from new_rows
    on conflict do nothing;
  return null;
end $$;

create function measures_mark_merged_customers() returns trigger language plpgsql as $$
begin
  insert into measures_dirty_customers (customer_id)
    select n.id from new_rows n join old_rows o on o.id = n.id
    where n.merged_into_customer_id is distinct from o.merged_into_customer_id
    on conflict do nothing;
  return null;
end $$;

create function measures_mark_product_buyers() returns trigger language plpgsql as $$
begin
  insert into measures_dirty_customers (customer_id)
    select distinct l.customer_id
    from new_rows n join old_rows o on o.id = n.id
    join order_lines l on l.product_id = n.id
    where n.unit_cost is distinct from o.unit_cost
    on conflict do nothing;
  return null;
end $$;

create trigger orders_measures_insert after insert on orders
  referencing new table as new_rows for each statement execute function measures_mark_new();
create trigger orders_measures_update after update on orders
  referencing old table as old_rows new table as new_rows for each statement execute function measures_mark_both();
create trigger orders_measures_delete after delete on orders
  referencing old table as old_rows for each statement execute function measures_mark_old();

create trigger order_lines_measures_insert after insert on order_lines
  referencing new table as new_rows for each statement execute function measures_mark_new();
create trigger order_lines_measures_update after update on order_lines
  referencing old table as old_rows new table as new_rows for each statement execute function measures_mark_both();
create trigger order_lines_measures_delete after delete on order_lines
  referencing old table as old_rows for each statement execute function measures_mark_old();

create trigger returns_measures_insert after insert on returns
  referencing new table as new_rows for each statement execute function measures_mark_new();
create trigger returns_measures_update after update on returns
  referencing old table as old_rows new table as new_rows for each statement execute function measures_mark_both();
create trigger returns_measures_delete after delete on returns
  referencing old table as old_rows for each statement execute function measures_mark_old();

create trigger customers_measures_insert after insert on customers
  referencing new table as new_rows for each statement execute function measures_mark_customers();
create trigger customers_measures_update after update on customers
  referencing old table as old_rows new table as new_rows for each statement execute function measures_mark_merged_customers();

create trigger products_measures_update after update on products
  referencing old table as old_rows new table as new_rows for each statement execute function measures_mark_product_buyers();

-- Room on each page for the refresh's updates to stay on the page (HOT: no index entries to write).
alter table customer_measures set (fillfactor = 50);
`.execute(db);
}
