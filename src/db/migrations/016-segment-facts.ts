import { type Kysely, sql } from 'kysely';

/**
 * Segment facts (issue #6): small per-customer tables the segment conditions read instead of orders ×
 * lines and the consent history, kept exact on every write by statement-level triggers (transition
 * tables, one statement per INSERT / UPDATE / DELETE / COPY, as the measures' marks in 008).
 *
 * - `customer_category_facts`: one row per customer who can be a member (not merged away, not erased)
 *   and product category bought: first / last order time, orders with a line of the category, amount of
 *   those lines. "Bought wine in the last year" is one index range (category, last_at) instead of the
 *   year's orders joined to their lines, and a count can start from it without reading customers.
 * - `consents_in_force`: the latest consent row per customer and channel (by time, then id), so
 *   "e-mail consent granted" is an index range instead of the history anti-joined with itself.
 *
 * Both are derived: recomputed for the customers a statement touched (their old and new ids, so a merge
 * moving orders or consents recomputes both records; a customer merged away or erased loses its category
 * facts), emptied with their source on TRUNCATE. They have no
 * foreign key to customers, so a merge does not move them (it moves their sources, which recompute them)
 * and erasure, which deletes consents, empties the customer's consents in force through the trigger.
 * They are as of now: the compiler reads them only when nothing is dated after the segment's asOf.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
create table customer_category_facts (
  customer_id bigint not null,
  category text not null,
  first_at timestamptz not null,
  last_at timestamptz not null,
  orders integer not null,
  amount numeric(14, 2) not null,
  primary key (customer_id, category)
);
-- "Bought the category (since …)": one range, the customer ids read from the index.
create index customer_category_facts_last_idx on customer_category_facts (category, last_at, customer_id);

create table consents_in_force (
  customer_id bigint not null,
  channel text not null,
  consent_id bigint not null,
  granted boolean not null,
  recorded_at timestamptz not null,
  primary key (customer_id, channel)
);
create index consents_in_force_granted_idx on consents_in_force (channel, customer_id) where granted;
-- "Is any consent recorded after asOf?" is one read of this index's end.
create index consents_time_idx on consents (recorded_at);

-- A tier's customer ids from the index alone (after a vacuum), not from the wide measure rows (migration
-- 015). Both columns are indexed already, so no update that stayed on its page (HOT) stops doing so.
create index customer_measure_rows_tier_customer_idx on customer_measure_rows (tier, customer_id);

create function segment_facts_categories(ids bigint[]) returns void language plpgsql as $$
begin
  delete from customer_category_facts f using unnest(ids) u(id) where f.customer_id = u.id;
  insert into customer_category_facts (customer_id, category, first_at, last_at, orders, amount)
    select l.customer_id, p.category, min(o.ordered_at), max(o.ordered_at), count(distinct l.order_id), sum(l.amount)
    from unnest(ids) u(id)
    join customers c on c.id = u.id and c.merged_into_customer_id is null and c.erased_at is null
    join order_lines l on l.customer_id = u.id
    join orders o on o.customer_id = l.customer_id and o.id = l.order_id
    join products p on p.id = l.product_id
    group by l.customer_id, p.category;
end $$;

create function segment_facts_consents(ids bigint[]) returns void language plpgsql as $$
begin
  delete from consents_in_force f using unnest(ids) u(id) where f.customer_id = u.id;
  insert into consents_in_force (customer_id, channel, consent_id, granted, recorded_at)
    select distinct on (k.customer_id, k.channel) k.customer_id, k.channel, k.id, k.granted, k.recorded_at
    from unnest(ids) u(id) join consents k on k.customer_id = u.id
    order by k.customer_id, k.channel, k.recorded_at desc, k.id desc;
end $$;

create function segment_facts_purchases_new() returns trigger language plpgsql as $$
begin
  perform segment_facts_categories(array(select distinct customer_id from new_rows));
  return null;
end $$;
create function segment_facts_purchases_old() returns trigger language plpgsql as $$
begin
  perform segment_facts_categories(array(select distinct customer_id from old_rows));
  return null;
end $$;
create function segment_facts_purchases_both() returns trigger language plpgsql as $$
begin
  perform segment_facts_categories(array(
    select customer_id from new_rows union select customer_id from old_rows));
  return null;
end $$;
-- Only a change of time or customer matters to an order's facts (its lines carry the rest).
create function segment_facts_orders_update() returns trigger language plpgsql as $$
begin
  perform segment_facts_categories(array(
    select n.customer_id from new_rows n join old_rows o on o.id = n.id
      where n.customer_id is distinct from o.customer_id or n.ordered_at is distinct from o.ordered_at
    union
    select o.customer_id from new_rows n join old_rows o on o.id = n.id
      where n.customer_id is distinct from o.customer_id or n.ordered_at is distinct from o.ordered_at));
  return null;
end $$;
create function segment_facts_products_update() returns trigger language plpgsql as $$
begin
  perform segment_facts_categories(array(
    select distinct l.customer_id
    from new_rows n join old_rows o on o.id = n.id
    join order_lines l on l.product_id = n.id
    where n.category is distinct from o.category));
  return null;
end $$;
-- Facts are kept for customers who can be members only (not merged away, not erased): a count can then
-- start from the facts without reading the customers.
create function segment_facts_customers_update() returns trigger language plpgsql as $$
begin
  perform segment_facts_categories(array(
    select n.id from new_rows n join old_rows o on o.id = n.id
    where n.merged_into_customer_id is distinct from o.merged_into_customer_id
       or n.erased_at is distinct from o.erased_at));
  return null;
end $$;
create function segment_facts_purchases_truncate() returns trigger language plpgsql as $$
begin
  truncate customer_category_facts;
  return null;
end $$;

create function segment_facts_consents_new() returns trigger language plpgsql as $$
begin
  perform segment_facts_consents(array(select distinct customer_id from new_rows));
  return null;
end $$;
create function segment_facts_consents_old() returns trigger language plpgsql as $$
begin
  perform segment_facts_consents(array(select distinct customer_id from old_rows));
  return null;
end $$;
create function segment_facts_consents_both() returns trigger language plpgsql as $$
begin
  perform segment_facts_consents(array(
    select customer_id from new_rows union select customer_id from old_rows));
  return null;
end $$;
create function segment_facts_consents_truncate() returns trigger language plpgsql as $$
begin
  truncate consents_in_force;
  return null;
end $$;

-- An order is inserted before its lines and deleted after them: only its updates change facts.
create trigger orders_segment_facts_update after update on orders
  referencing old table as old_rows new table as new_rows for each statement execute function segment_facts_orders_update();
create trigger orders_segment_facts_delete after delete on orders
  referencing old table as old_rows for each statement execute function segment_facts_purchases_old();
create trigger orders_segment_facts_truncate after truncate on orders
  for each statement execute function segment_facts_purchases_truncate();

create trigger order_lines_segment_facts_insert after insert on order_lines
  referencing new table as new_rows for each statement execute function segment_facts_purchases_new();
create trigger order_lines_segment_facts_update after update on order_lines
  referencing old table as old_rows new table as new_rows for each statement execute function segment_facts_purchases_both();
create trigger order_lines_segment_facts_delete after delete on order_lines
  referencing old table as old_rows for each statement execute function segment_facts_purchases_old();
create trigger order_lines_segment_facts_truncate after truncate on order_lines
  for each statement execute function segment_facts_purchases_truncate();

create trigger customers_segment_facts_update after update on customers
  referencing old table as old_rows new table as new_rows for each statement execute function segment_facts_customers_update();

create trigger products_segment_facts_update after update on products
  referencing old table as old_rows new table as new_rows for each statement execute function segment_facts_products_update();

create trigger consents_segment_facts_insert after insert on consents
  referencing new table as new_rows for each statement execute function segment_facts_consents_new();
create trigger consents_segment_facts_update after update on consents
  referencing old table as old_rows new table as new_rows for each statement execute function segment_facts_consents_both();
create trigger consents_segment_facts_delete after delete on consents
  referencing old table as old_rows for each statement execute function segment_facts_consents_old();
create trigger consents_segment_facts_truncate after truncate on consents
  for each statement execute function segment_facts_consents_truncate();

-- Facts for what is already there.
insert into customer_category_facts (customer_id, category, first_at, last_at, orders, amount)
  select l.customer_id, p.category, min(o.ordered_at), max(o.ordered_at), count(distinct l.order_id), sum(l.amount)
  from order_lines l
  join customers c on c.id = l.customer_id and c.merged_into_customer_id is null and c.erased_at is null
  join orders o on o.customer_id = l.customer_id and o.id = l.order_id
  join products p on p.id = l.product_id
  group by l.customer_id, p.category;
insert into consents_in_force (customer_id, channel, consent_id, granted, recorded_at)
  select distinct on (customer_id, channel) customer_id, channel, id, granted, recorded_at
  from consents order by customer_id, channel, recorded_at desc, id desc;
`.execute(db);
}
