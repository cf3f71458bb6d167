import { type Kysely, sql } from 'kysely';

/**
 * A version number for `customer_measure_rows` (issue #4): every statement that writes the table moves
 * `measures_rows_version` on, and each refresh records the number its own writes left
 * (`measures_refreshes.rows_version`). The next refresh continues incrementally only when the number has
 * not moved since: nothing wrote the table behind its back (a manual fix, a test's fixture). This replaces counting the rows (0.1–0.5 s at 1 M customers, every incremental refresh),
 * which saw only rows added or removed; this sees updates too.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
create sequence measures_rows_version;
create function measures_rows_written() returns trigger language plpgsql as $$
begin
  perform nextval('measures_rows_version');
  return null;
end $$;
create trigger customer_measure_rows_version
  after insert or update or delete or truncate on customer_measure_rows
  for each statement execute function measures_rows_written();
alter table measures_refreshes add column rows_version bigint;
`.execute(db);
}
