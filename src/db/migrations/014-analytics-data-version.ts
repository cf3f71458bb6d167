import { type Kysely, sql } from 'kysely';

/**
 * A version number of the data the dashboard reads (src/analytics/dashboard.ts): every statement that
 * writes orders, customers, measures, tier snapshots, lifetime values or refreshes draws the next value
 * of a sequence, so "has anything changed since?" is one read of `last_value`. A sequence rather than a
 * counter row: nextval takes no lock that concurrent writers would wait on, and it is not rolled back
 * (a rolled-back write only costs one needless recompute).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
create sequence analytics_data_version;

create function analytics_data_changed() returns trigger language plpgsql as $$
begin
  perform nextval('analytics_data_version');
  return null;
end $$;
`.execute(db);
  for (const table of [
    'orders',
    'customers',
    'customer_measures',
    'tier_snapshots',
    'customer_clv',
    'clv_equity_history',
    'measures_refreshes',
  ]) {
    await sql`create trigger ${sql.raw(`${table}_data_version`)}
      after insert or update or delete or truncate on ${sql.table(table)}
      for each statement execute function analytics_data_changed()`.execute(db);
  }
}
