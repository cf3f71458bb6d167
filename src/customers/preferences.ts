import { type RawBuilder, sql } from 'kysely';
import { z } from 'zod';
import type { Actor } from '../auth/index.ts';
import type { Database, PreferenceSource } from '../db/index.ts';
import { KizunaError } from '../errors.ts';
import { isoTime, staffJson, storeJson } from './customer-records.ts';
import type { StaffRef, StoreRef } from './timeline.ts';

/**
 * The preference notebook (MISSION §1): what staff learn about a customer at any store — "wine: with
 * ice", "tell her when Murakami's new novel is out" — written once and read at every store. A note that
 * no longer holds is marked obsolete, never deleted: who marked it and why stay with it.
 */

export const PREFERENCE_KEY_MAX = 100;
export const PREFERENCE_VALUE_MAX = 500;
export const PREFERENCE_NOTE_MAX = 2000;
export const OBSOLETE_REASON_MAX = 500;

const text = (max: number) =>
  z.string().trim().min(1, 'must not be empty').max(max, `at most ${max} characters`);

/** A free note, or a key/value pair with an optional note. Keys are compared lower-case. */
export type PreferenceNoteInput = { note: string } | { key: string; value: string; note?: string };

export const PreferenceNoteFields = z
  .object({
    key: text(PREFERENCE_KEY_MAX)
      .transform((key) => key.toLowerCase())
      .optional(),
    value: text(PREFERENCE_VALUE_MAX).optional(),
    note: text(PREFERENCE_NOTE_MAX).optional(),
  })
  .superRefine((fields, ctx) => {
    if (fields.key !== undefined && fields.value === undefined) {
      ctx.addIssue({ code: 'custom', path: ['value'], message: 'a key needs a value' });
    } else if (fields.key === undefined && fields.value !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['key'], message: 'a value needs a key' });
    } else if (fields.key === undefined && fields.note === undefined) {
      ctx.addIssue({ code: 'custom', path: ['note'], message: 'give a note, or a key and a value' });
    }
  });

export type PreferenceNote = {
  id: number;
  key: string | null;
  value: string | null;
  note: string | null;
  source: PreferenceSource;
  /** Null for notes written by an integration (API token) or imported without an author. */
  author: StaffRef | null;
  /** The store where the note was written. */
  store: StoreRef | null;
  noted_at: string;
  obsolete: boolean;
  obsolete_at: string | null;
  obsoleted_by: StaffRef | null;
  obsolete_reason: string | null;
};

function parseNote(input: unknown): z.output<typeof PreferenceNoteFields> {
  const parsed = PreferenceNoteFields.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue?.path.filter((p): p is string => typeof p === 'string').join('.') || undefined;
  throw new KizunaError('invalid_request', `${field ?? 'note'}: ${issue?.message ?? 'invalid note'}`, {
    field,
  });
}

/** A live customer: notes cannot be written for an unknown or erased customer. */
async function requireLiveCustomer(database: Database, customerId: number): Promise<void> {
  const row = await database.db
    .selectFrom('customers')
    .select(['erased_at'])
    .where('id', '=', customerId)
    .executeTakeFirst();
  if (!row) throw new KizunaError('customer_not_found', `No customer with id ${customerId}`, { status: 404 });
  if (row.erased_at !== null) {
    throw new KizunaError('customer_erased', `Customer ${customerId} has been erased`, { status: 409 });
  }
}

/**
 * The store a note is written at: the one given (which must be one of a store-limited actor's stores),
 * else the staff member's own store, else the first of the actor's stores; null for an unlimited
 * integration that names none.
 */
async function noteStore(
  database: Database,
  actor: Actor,
  storeId: number | undefined,
): Promise<number | null> {
  if (storeId !== undefined) {
    if (actor.storeIds !== null && !actor.storeIds.includes(storeId)) {
      throw new KizunaError('store_out_of_scope', `Store ${storeId} is not one of your stores`, {
        field: 'storeId',
        status: 403,
      });
    }
    const store = await database.db
      .selectFrom('stores')
      .select('id')
      .where('id', '=', storeId)
      .executeTakeFirst();
    if (!store) {
      throw new KizunaError('store_not_found', `No store with id ${storeId}`, {
        field: 'storeId',
        status: 404,
      });
    }
    return storeId;
  }
  if (actor.staffId !== null) {
    const own = await database.db
      .selectFrom('staff')
      .select('store_id')
      .where('id', '=', actor.staffId)
      .executeTakeFirst();
    if (own?.store_id != null && (actor.storeIds === null || actor.storeIds.includes(own.store_id))) {
      return own.store_id;
    }
  }
  return actor.storeIds?.[0] ?? null;
}

/**
 * Writes a note in the customer's notebook as `actor` (a person is the author; an integration writes
 * without one). The caller has already checked the customer is in the actor's scope.
 */
export async function addPreferenceNote(
  database: Database,
  actor: Actor,
  customerId: number,
  input: PreferenceNoteInput | z.input<typeof PreferenceNoteFields>,
  storeId?: number,
): Promise<PreferenceNote> {
  const note = parseNote(input);
  const [store] = await Promise.all([
    noteStore(database, actor, storeId),
    requireLiveCustomer(database, customerId),
  ]);
  const inserted = await database.db
    .insertInto('preferences')
    .values({
      customer_id: customerId,
      key: note.key ?? null,
      value: note.value ?? null,
      note: note.note ?? null,
      source: 'staff',
      store_id: store,
      author_staff_id: actor.staffId,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const [written] = await preferenceNotes(database, customerId, {
    includeObsolete: true,
    noteId: inserted.id,
  });
  return written!;
}

/**
 * The customer's notes, newest first, as one json array (each element a PreferenceNote), for use inside
 * a larger statement: the 360 reads the notes in force in the same statement as its other sections.
 */
export function preferenceNotesJson(
  customerId: number,
  options: { includeObsolete: boolean; noteId?: number },
): RawBuilder<PreferenceNote[]> {
  return sql<PreferenceNote[]>`coalesce((
    select json_agg(json_build_object(
      'id', pr.id, 'key', pr.key, 'value', pr.value, 'note', pr.note, 'source', pr.source,
      'author', ${staffJson('author')}, 'store', ${storeJson('s')}, 'noted_at', ${isoTime('pr.noted_at')},
      'obsolete', pr.obsolete_at is not null, 'obsolete_at', ${isoTime('pr.obsolete_at')},
      'obsoleted_by', ${staffJson('marker')}, 'obsolete_reason', pr.obsolete_reason
    ) order by pr.noted_at desc, pr.id desc)
    from preferences pr
    left join stores s on s.id = pr.store_id
    left join staff author on author.id = pr.author_staff_id
    left join staff marker on marker.id = pr.obsoleted_by_staff_id
    where pr.customer_id = ${customerId}
      ${options.includeObsolete ? sql`` : sql`and pr.obsolete_at is null`}
      ${options.noteId === undefined ? sql`` : sql`and pr.id = ${options.noteId}`}
  ), '[]'::json)`;
}

async function preferenceNotes(
  database: Database,
  customerId: number,
  options: { includeObsolete: boolean; noteId?: number },
): Promise<PreferenceNote[]> {
  const result = await sql<{ notes: PreferenceNote[] }>`
    select ${preferenceNotesJson(customerId, options)} as notes`.execute(database.db);
  return result.rows[0]!.notes;
}

/** The customer's notes, newest first: the current ones, or with `includeObsolete` every note ever written. */
export function listPreferenceNotes(
  database: Database,
  customerId: number,
  options: { includeObsolete?: boolean } = {},
): Promise<PreferenceNote[]> {
  return preferenceNotes(database, customerId, { includeObsolete: options.includeObsolete ?? false });
}

/**
 * Marks one note as no longer true. Nothing is deleted: the note stays in the notebook's history with
 * when, by whom and why. 404 when the customer has no such note, 409 when it is already obsolete.
 */
export async function markPreferenceObsolete(
  database: Database,
  actor: Actor,
  customerId: number,
  noteId: number,
  reason?: string,
): Promise<PreferenceNote> {
  const why = reason?.trim() || null;
  if (why !== null && why.length > OBSOLETE_REASON_MAX) {
    throw new KizunaError('invalid_request', `reason: at most ${OBSOLETE_REASON_MAX} characters`, {
      field: 'reason',
    });
  }
  const updated = await database.db
    .updateTable('preferences')
    .set({ obsolete_at: new Date(), obsoleted_by_staff_id: actor.staffId, obsolete_reason: why })
    .where('customer_id', '=', customerId)
    .where('id', '=', noteId)
    .where('obsolete_at', 'is', null)
    .returning('id')
    .executeTakeFirst();
  if (!updated) {
    const exists = await database.db
      .selectFrom('preferences')
      .select('id')
      .where('customer_id', '=', customerId)
      .where('id', '=', noteId)
      .executeTakeFirst();
    if (!exists) {
      throw new KizunaError('note_not_found', `Customer ${customerId} has no preference note ${noteId}`, {
        field: 'noteId',
        status: 404,
      });
    }
    throw new KizunaError('note_already_obsolete', `Preference note ${noteId} is already marked obsolete`, {
      status: 409,
    });
  }
  const [note] = await preferenceNotes(database, customerId, { includeObsolete: true, noteId });
  return note!;
}
