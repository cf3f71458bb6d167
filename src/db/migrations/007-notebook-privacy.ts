import { type Kysely, sql } from 'kysely';

/**
 * The preference notebook keeps what staff once knew: a note that no longer holds is marked obsolete,
 * never deleted, with who marked it and why, so the next person understands the change ("stopped
 * drinking wine", not a silently vanished note). Only erasure of the customer deletes notes.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
alter table preferences
  add column obsoleted_by_staff_id bigint references staff (id),
  add column obsolete_reason text;
`.execute(db);
}
