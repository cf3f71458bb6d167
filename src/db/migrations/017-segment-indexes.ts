import { type Kysely, sql } from 'kysely';

/**
 * Indexes for segment counts at 1 M customers (issue #6). A count whose rules are "a test of the
 * customer's measures row and …" starts from `customer_measure_rows` (src/segments/compile.ts) instead
 * of every customer; these let that start be one index range whose entries carry the customer id:
 *
 * - (last_purchase_at, orders_count, customer_id): lapsed regulars ("3 orders or more, none in 180 days")
 *   and "last purchase in the last N days";
 * - (first_purchase_at, customer_id): new customers;
 * - (rfm_group, customer_id) replaces (rfm_group), and (tier) goes: (tier, customer_id) of migration 016
 *   answers everything it did.
 *
 * Erased customers keep their measures row (src/customers/privacy.ts), so such a count leaves out the
 * customers who cannot be members; `customers_gone_idx` holds just those (merged away or erased: a
 * handful), so that is a small hashed list rather than a look-up in customers per row.
 *
 * Each index on customer_measure_rows costs the measures refresh's write (docs/segments.md, Speed).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
drop index customer_measures_tier_idx;
drop index customer_measures_rfm_idx;
create index customer_measure_rows_rfm_customer_idx on customer_measure_rows (rfm_group, customer_id);
create index customer_measure_rows_last_purchase_idx
  on customer_measure_rows (last_purchase_at, orders_count, customer_id);
create index customer_measure_rows_first_purchase_idx on customer_measure_rows (first_purchase_at, customer_id);
create index customers_gone_idx on customers (id)
  where merged_into_customer_id is not null or erased_at is not null;
`.execute(db);
}
