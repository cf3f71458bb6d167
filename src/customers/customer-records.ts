import { type Kysely, type RawBuilder, sql } from 'kysely';
import { z } from 'zod';
import { type Actor, ForbiddenError } from '../auth/index.ts';
import type { ConsentChannel, Database, Schema } from '../db/index.ts';
import { KizunaError } from '../errors.ts';
import type { CurrentConsent, StaffRef, StoreRef } from './timeline.ts';

/**
 * A customer's record (MISSION §1): identity, contact points, tags and custom fields, home store and
 * account owner, where they came from, and the consents in force. Consent is a history: every change is
 * a new row with its time and source, and the latest row per channel is in force.
 */

export const CONSENT_CHANNELS = [
  'email',
  'sms',
  'phone',
  'letter',
] as const satisfies readonly ConsentChannel[];
export const TAG_MAX = 50;
export const MAX_TAGS = 100;
export const MAX_CUSTOM_FIELDS = 100;

const text = (max: number) =>
  z.string().trim().min(1, 'must not be empty').max(max, `at most ${max} characters`);

/** Digits with the separators people write (full-width ones too); 3 to 20 digits in all. */
const PHONE_CHARACTERS = /^[0-9０-９+＋()（）\-‐－ー .　]+$/u;
const phone = z
  .string()
  .trim()
  .max(40, 'at most 40 characters')
  .regex(PHONE_CHARACTERS, 'may contain only digits, spaces and + - ( ) .')
  .refine((value) => {
    const digits = value.replace(/[^0-9０-９]/gu, '').length;
    return digits >= 3 && digits <= 20;
  }, 'must have 3 to 20 digits');

function todayUtc(): string {
  return new Date().toISOString().slice(0, 10);
}

const birthDate = z.iso
  .date('must be a date written YYYY-MM-DD')
  .refine((value) => value >= '1900-01-01' && value <= todayUtc(), 'must be between 1900-01-01 and today');

/** The same characters as a customer key in a URL, so that every external id can be used in one. */
const externalId = z
  .string()
  .trim()
  .max(100, 'at most 100 characters')
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]*$/, 'may contain only letters, digits and _ . : -');

const tags = z
  .array(text(TAG_MAX))
  .max(MAX_TAGS, `at most ${MAX_TAGS} tags`)
  .transform((list) => [...new Set(list)]);

const customFieldValue = z.union([z.string().max(2000, 'at most 2000 characters'), z.number(), z.boolean()], {
  error: 'must be a string, a number or a boolean (custom fields are flat)',
});
const customFieldKey = z.string().trim().min(1).max(100);
const customFields = z
  .record(customFieldKey, customFieldValue)
  .refine((fields) => Object.keys(fields).length <= MAX_CUSTOM_FIELDS, `at most ${MAX_CUSTOM_FIELDS} fields`);
/** In a PATCH, a field set to null is removed (JSON merge patch). */
const customFieldsPatch = z
  .record(customFieldKey, customFieldValue.nullable())
  .refine((fields) => Object.keys(fields).length <= MAX_CUSTOM_FIELDS, `at most ${MAX_CUSTOM_FIELDS} fields`);

const id = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);

export const ConsentChange = z.strictObject({
  channel: z.enum(CONSENT_CHANNELS),
  granted: z.boolean(),
  /** Where the customer said so ("web form", "store counter"); who recorded it is added to it. */
  source: text(100).optional(),
});
export type ConsentChange = z.output<typeof ConsentChange>;

const identityFields = {
  external_id: externalId,
  name: text(200),
  name_kana: text(200),
  email: z.email('must be an e-mail address').max(254),
  phone,
  postal_code: text(20),
  address: text(500),
  birth_date: birthDate,
  acquisition_source: text(100),
  referred_by_customer_id: id,
  account_owner_staff_id: id,
  home_store_id: id,
};

export const NewCustomer = z
  .strictObject({
    external_id: identityFields.external_id.optional(),
    name: identityFields.name.optional(),
    name_kana: identityFields.name_kana.optional(),
    email: identityFields.email.optional(),
    phone: identityFields.phone.optional(),
    postal_code: identityFields.postal_code.optional(),
    address: identityFields.address.optional(),
    birth_date: identityFields.birth_date.optional(),
    tags: tags.optional(),
    custom_fields: customFields.optional(),
    acquisition_source: identityFields.acquisition_source.optional(),
    referred_by_customer_id: identityFields.referred_by_customer_id.optional(),
    account_owner_staff_id: identityFields.account_owner_staff_id.optional(),
    home_store_id: identityFields.home_store_id.optional(),
    do_not_contact: z.boolean().optional(),
    consents: z
      .array(ConsentChange.omit({ source: true }))
      .max(CONSENT_CHANNELS.length)
      .refine((list) => new Set(list.map((c) => c.channel)).size === list.length, 'each channel at most once')
      .optional(),
  })
  .refine((c) => [c.name, c.name_kana, c.email, c.phone, c.external_id].some((v) => v !== undefined), {
    message: 'give at least a name, a kana name, an e-mail, a phone or an external id',
    path: ['name'],
  });
export type NewCustomer = z.output<typeof NewCustomer>;

/** Fields left out stay as they are; null clears a field. */
export const CustomerPatch = z
  .strictObject({
    external_id: identityFields.external_id.nullable().optional(),
    name: identityFields.name.nullable().optional(),
    name_kana: identityFields.name_kana.nullable().optional(),
    email: identityFields.email.nullable().optional(),
    phone: identityFields.phone.nullable().optional(),
    postal_code: identityFields.postal_code.nullable().optional(),
    address: identityFields.address.nullable().optional(),
    birth_date: identityFields.birth_date.nullable().optional(),
    /** Replaces the whole list. */
    tags: tags.optional(),
    /** Merged into the fields the customer has; a field set to null is removed. */
    custom_fields: customFieldsPatch.optional(),
    acquisition_source: identityFields.acquisition_source.nullable().optional(),
    referred_by_customer_id: identityFields.referred_by_customer_id.nullable().optional(),
    account_owner_staff_id: identityFields.account_owner_staff_id.nullable().optional(),
    home_store_id: identityFields.home_store_id.nullable().optional(),
    do_not_contact: z.boolean().optional(),
  })
  .refine((patch) => Object.keys(patch).length > 0, 'give at least one field to change');
export type CustomerPatch = z.output<typeof CustomerPatch>;

/**
 * The customer columns that hold personal data, emptied: what erasure writes, and what a merged-away
 * record keeps once its data has moved to the survivor. One list, so the two cannot drift apart.
 */
export const PERSONAL_DATA_EMPTIED = {
  name: null,
  name_kana: null,
  email: null,
  phone: null,
  postal_code: null,
  address: null,
  birth_date: null,
  tags: [] as string[],
  custom_fields: '{}',
  acquisition_source: null,
  referred_by_customer_id: null,
} as const;

export type CustomerRecord = {
  id: number;
  external_id: string | null;
  name: string | null;
  name_kana: string | null;
  email: string | null;
  phone: string | null;
  postal_code: string | null;
  address: string | null;
  birth_date: string | null;
  tags: string[];
  custom_fields: Record<string, unknown>;
  acquisition_source: string | null;
  /** The customer who referred this one (ids only: the referrer may be another store's customer). */
  referred_by: { id: number; external_id: string | null } | null;
  do_not_contact: boolean;
  merged_into_customer_id: number | null;
  erased_at: string | null;
  created_at: string;
  updated_at: string;
  home_store: StoreRef | null;
  account_owner: StaffRef | null;
  /** The consent in force per channel (the latest recorded row); channels never recorded are absent. */
  consents: CurrentConsent[];
};

/** How the API names who recorded a change, e.g. in a consent's source: `api:staff:12`, `api:token:3`. */
export function actorSource(actor: Actor): string {
  if (actor.kind === 'staff') return `api:staff:${actor.staffId}`;
  if (actor.kind === 'token') return `api:token:${actor.tokenId}`;
  return 'cli';
}

type Db = Kysely<Schema>;

/**
 * SQL that writes values the way the API does, so that a section built as json in SQL parses into the
 * very object the API returns (no mapping in TypeScript). Objects are `json`, not `jsonb`: json keeps
 * the keys in the order written, which is the order the API's answers have always had.
 */

/** A timestamp as JavaScript's toISOString writes it: UTC, to the millisecond (truncated), then Z. */
export function isoTime(column: string): RawBuilder<string> {
  return sql<string>`to_char(${sql.ref(column)} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
}

/** `{id, code, name}` of the store joined as `alias`, or null when there is none. */
export function storeJson(alias: string): RawBuilder<StoreRef | null> {
  const column = (name: string) => sql.ref(`${alias}.${name}`);
  return sql<StoreRef | null>`case when ${column('id')} is null then null
    else json_build_object('id', ${column('id')}, 'code', ${column('code')}, 'name', ${column('name')}) end`;
}

/** `{id, name}` of the staff member joined as `alias`, or null when there is none. */
export function staffJson(alias: string): RawBuilder<StaffRef | null> {
  const column = (name: string) => sql.ref(`${alias}.${name}`);
  return sql<StaffRef | null>`case when ${column('id')} is null then null
    else json_build_object('id', ${column('id')}, 'name', ${column('name')}) end`;
}

/**
 * The customer's record as one json value (null when there is no such customer), for use inside a
 * larger statement: the 360 and the timeline read it in the same statement as their other sections.
 * Consents in force: the latest row per channel (ties on time: the later id), in channel order.
 */
export function customerRecordJson(customerId: number): RawBuilder<CustomerRecord | null> {
  return sql<CustomerRecord | null>`(
    select json_build_object(
      'id', c.id, 'external_id', c.external_id, 'name', c.name, 'name_kana', c.name_kana,
      'email', c.email, 'phone', c.phone, 'postal_code', c.postal_code, 'address', c.address,
      'birth_date', c.birth_date, 'tags', c.tags, 'custom_fields', c.custom_fields,
      'acquisition_source', c.acquisition_source,
      'referred_by', case when r.id is null then null
        else json_build_object('id', r.id, 'external_id', r.external_id) end,
      'do_not_contact', c.do_not_contact, 'merged_into_customer_id', c.merged_into_customer_id,
      'erased_at', ${isoTime('c.erased_at')}, 'created_at', ${isoTime('c.created_at')},
      'updated_at', ${isoTime('c.updated_at')},
      'home_store', ${storeJson('s')}, 'account_owner', ${staffJson('st')},
      'consents', coalesce((
        select json_agg(json_build_object(
          'channel', k.channel, 'granted', k.granted, 'recorded_at', ${isoTime('k.recorded_at')},
          'source', k.source
        ) order by k.channel)
        from (
          select distinct on (channel) channel, granted, recorded_at, source
          from consents
          where customer_id = ${customerId}
          order by channel, recorded_at desc, id desc
        ) k
      ), '[]'::json)
    )
    from customers c
    left join stores s on s.id = c.home_store_id
    left join staff st on st.id = c.account_owner_staff_id
    left join customers r on r.id = c.referred_by_customer_id
    where c.id = ${customerId}
  )`;
}

/** One customer's record with consents in force, or null: the one reader of a customer's identity. */
export async function customerRecord(db: Db, customerId: number): Promise<CustomerRecord | null> {
  const result = await sql<{
    record: CustomerRecord | null;
  }>`select ${customerRecordJson(customerId)} as record`.execute(db);
  return result.rows[0]?.record ?? null;
}

async function readCustomer(db: Db, customerId: number): Promise<CustomerRecord> {
  const record = await customerRecord(db, customerId);
  if (!record)
    throw new KizunaError('customer_not_found', `No customer with id ${customerId}`, { status: 404 });
  return record;
}

/** One customer's record; `customer_not_found` (404) when there is none. */
export function getCustomer(database: Database, customerId: number): Promise<CustomerRecord> {
  return readCustomer(database.db, customerId);
}

/** A store-limited caller may only place customers in their own stores (else they could not see them). */
function requireOwnStore(actor: Actor, storeId: number | null): void {
  if (actor.storeIds === null) return;
  if (storeId === null || !actor.storeIds.includes(storeId)) {
    throw new ForbiddenError(
      `home_store_id: you may only give a customer one of your own stores as home store (${actor.storeIds.join(', ') || 'none'})`,
      'store_out_of_scope',
    );
  }
}

type References = {
  home_store_id?: number | null;
  account_owner_staff_id?: number | null;
  referred_by_customer_id?: number | null;
};

/** Every id a customer refers to must exist: the foreign keys would say so too, but not which field. */
async function checkReferences(db: Db, refs: References, customerId: number | null): Promise<void> {
  const unknown = (field: string, what: string, value: number) =>
    new KizunaError('invalid_request', `${field}: no ${what} with id ${value}`, { field });
  if (refs.home_store_id != null) {
    const store = await db
      .selectFrom('stores')
      .select('id')
      .where('id', '=', refs.home_store_id)
      .executeTakeFirst();
    if (!store) throw unknown('home_store_id', 'store', refs.home_store_id);
  }
  if (refs.account_owner_staff_id != null) {
    const staff = await db
      .selectFrom('staff')
      .select(['id', 'disabled_at'])
      .where('id', '=', refs.account_owner_staff_id)
      .executeTakeFirst();
    if (!staff) throw unknown('account_owner_staff_id', 'staff member', refs.account_owner_staff_id);
  }
  if (refs.referred_by_customer_id != null) {
    const referrerId = refs.referred_by_customer_id;
    if (referrerId === customerId) {
      throw new KizunaError(
        'invalid_request',
        'referred_by_customer_id: a customer cannot refer themselves',
        {
          field: 'referred_by_customer_id',
        },
      );
    }
    const referrer = await db
      .selectFrom('customers')
      .select(['merged_into_customer_id', 'erased_at'])
      .where('id', '=', referrerId)
      .executeTakeFirst();
    if (!referrer) throw unknown('referred_by_customer_id', 'customer', referrerId);
    if (referrer.merged_into_customer_id !== null || referrer.erased_at !== null) {
      throw new KizunaError(
        'invalid_request',
        `referred_by_customer_id: customer ${referrerId} has been ${referrer.erased_at ? 'erased' : `merged into ${referrer.merged_into_customer_id}`}`,
        { field: 'referred_by_customer_id' },
      );
    }
  }
}

async function requireFreeExternalId(db: Db, externalId: string, customerId: number | null): Promise<void> {
  const holder = await db
    .selectFrom('customers')
    .select('id')
    .where('external_id', '=', externalId)
    .executeTakeFirst();
  if (holder && holder.id !== customerId) {
    throw new KizunaError(
      'external_id_taken',
      `external_id: ${externalId} is already customer ${holder.id}'s`,
      {
        field: 'external_id',
        status: 409,
      },
    );
  }
}

function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && error.code === '23505';
}

/** Two concurrent requests can pass the check; the unique index then decides, with the same answer. */
async function uniqueExternalId<T>(
  externalId: string | null | undefined,
  work: () => Promise<T>,
): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (externalId && isUniqueViolation(error)) {
      throw new KizunaError('external_id_taken', `external_id: ${externalId} is already taken`, {
        field: 'external_id',
        status: 409,
      });
    }
    throw error;
  }
}

/**
 * Creates a customer and records the consents given with it (each a history row with `source`).
 * A store-limited caller's customer gets their first store as home store unless they name one of theirs.
 */
export async function createCustomer(
  database: Database,
  actor: Actor,
  input: NewCustomer,
  source: string,
): Promise<CustomerRecord> {
  const { consents = [], ...fields } = input;
  let homeStoreId = fields.home_store_id ?? null;
  if (actor.storeIds !== null) {
    homeStoreId ??= actor.storeIds[0] ?? null;
    requireOwnStore(actor, homeStoreId);
  }
  const customerId = await uniqueExternalId(fields.external_id, () =>
    database.transaction(async ({ db }) => {
      await checkReferences(db, { ...fields, home_store_id: homeStoreId }, null);
      if (fields.external_id) await requireFreeExternalId(db, fields.external_id, null);
      const { id } = await db
        .insertInto('customers')
        .values({
          ...fields,
          home_store_id: homeStoreId,
          tags: fields.tags ?? [],
          custom_fields: JSON.stringify(fields.custom_fields ?? {}),
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      if (consents.length > 0) {
        await db
          .insertInto('consents')
          .values(consents.map((c) => ({ customer_id: id, channel: c.channel, granted: c.granted, source })))
          .execute();
      }
      return id;
    }),
  );
  return getCustomer(database, customerId);
}

async function requireLiveCustomer(db: Db, customerId: number) {
  const row = await db
    .selectFrom('customers')
    .select(['id', 'home_store_id', 'merged_into_customer_id', 'erased_at'])
    .where('id', '=', customerId)
    .forUpdate()
    .executeTakeFirst();
  if (!row) throw new KizunaError('customer_not_found', `No customer with id ${customerId}`, { status: 404 });
  if (row.erased_at !== null) {
    throw new KizunaError('customer_erased', `Customer ${customerId} has been erased`, { status: 409 });
  }
  if (row.merged_into_customer_id !== null) {
    throw new KizunaError(
      'customer_merged',
      `Customer ${customerId} has been merged into customer ${row.merged_into_customer_id}; change that one`,
      { status: 409 },
    );
  }
  return row;
}

/**
 * Changes the given fields. References (home store, account owner, referrer) must exist; a store-limited
 * caller may only move a customer to one of their own stores.
 */
export async function updateCustomer(
  database: Database,
  actor: Actor,
  customerId: number,
  patch: CustomerPatch,
): Promise<CustomerRecord> {
  const { custom_fields: customFieldsChange, ...fields } = patch;
  if (fields.home_store_id !== undefined) requireOwnStore(actor, fields.home_store_id);
  await uniqueExternalId(fields.external_id, () =>
    database.transaction(async ({ db }) => {
      await requireLiveCustomer(db, customerId);
      await checkReferences(db, fields, customerId);
      if (fields.external_id) await requireFreeExternalId(db, fields.external_id, customerId);
      await db
        .updateTable('customers')
        .set({
          ...fields,
          // JSON merge patch: given keys replace, null removes (stored values are never null).
          ...(customFieldsChange === undefined
            ? {}
            : {
                custom_fields: sql<
                  Record<string, unknown>
                >`jsonb_strip_nulls(custom_fields || ${JSON.stringify(customFieldsChange)}::jsonb)`,
              }),
          updated_at: sql<Date>`now()`,
        })
        .where('id', '=', customerId)
        .execute();
    }),
  );
  return getCustomer(database, customerId);
}

/**
 * Records a consent change as a new history row (the one now in force for its channel), with the time
 * and the source. Every call is recorded, also one that repeats the consent in force: a renewed "yes"
 * with its date is evidence too.
 */
export async function recordConsent(
  database: Database,
  customerId: number,
  channel: ConsentChannel,
  granted: boolean,
  source: string,
): Promise<CurrentConsent> {
  return database.transaction(async ({ db }) => {
    await requireLiveCustomer(db, customerId);
    const row = await db
      .insertInto('consents')
      .values({ customer_id: customerId, channel, granted, source })
      .returning(['channel', 'granted', 'recorded_at', 'source'])
      .executeTakeFirstOrThrow();
    return {
      channel: row.channel,
      granted: row.granted,
      recorded_at: row.recorded_at.toISOString(),
      source: row.source,
    };
  });
}
