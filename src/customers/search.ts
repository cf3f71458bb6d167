import { type Expression, type SqlBool, sql } from 'kysely';
import { type Actor, customerInStores } from '../auth/index.ts';
import type { Database } from '../db/index.ts';
import { KizunaError } from '../errors.ts';
import type { StoreRef } from './timeline.ts';

/**
 * Finding a customer at the counter or on the phone: by name or kana (with or without the space, any
 * case, hiragana or katakana, full- or half-width), e-mail (exact or its beginning), phone (digits only:
 * "090-1234-5678" finds "09012345678"), Kizuna's id or the external id, and by tag. Names match by
 * prefix of the whole name or of the part after the first word ("花子" finds "山田 花子"), through the
 * normalised-key indexes of migration 006 (pg_trgm, which would allow infix matches, is not available in
 * the embedded engine).
 */

export const DEFAULT_SEARCH_LIMIT = 25;
export const MAX_SEARCH_LIMIT = 100;
/** Fewer digits than this in a query are not treated as a phone number (they would match too much). */
const MIN_PHONE_DIGITS = 3;

export type CustomerSearch = {
  q?: string;
  tag?: string;
  /** Only customers of this store (home store, purchases or contacts there: the store-scope rule). */
  storeId?: number;
  limit?: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
};

export type CustomerSummary = {
  id: number;
  external_id: string | null;
  name: string | null;
  name_kana: string | null;
  email: string | null;
  phone: string | null;
  tags: string[];
  home_store: StoreRef | null;
  do_not_contact: boolean;
};

export type CustomerSearchPage = {
  customers: CustomerSummary[];
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
};

/** The cursor is the last id seen (results are newest customer first), opaque to clients. */
function encodeCursor(lastId: number): string {
  return Buffer.from(`c:${lastId}`).toString('base64url');
}

function decodeCursor(cursor: string): number {
  const match = /^c:([1-9]\d{0,15})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  const id = match ? Number(match[1]) : Number.NaN;
  if (!Number.isSafeInteger(id)) {
    throw new KizunaError('invalid_request', 'cursor: not a cursor from a previous page', {
      field: 'cursor',
    });
  }
  return id;
}

/** LIKE's wildcards in user input are literal characters. */
function likePrefix(value: string): string {
  return `${value.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * The query's keys, normalised by the same SQL functions the indexes are built on, so that "what was
 * typed" and "what is stored" are folded identically; computed first so that the patterns reach the
 * planner as constants and the prefix indexes are used.
 */
async function searchKeys(database: Database, q: string) {
  const result = await sql<{ name: string | null; email: string; digits: string | null }>`
    select customer_search_key(${q}) as name, lower(${q}) as email, customer_phone_key(${q}) as digits`.execute(
    database.db,
  );
  return result.rows[0]!;
}

async function matchesQuery(database: Database, q: string): Promise<Expression<SqlBool>> {
  const keys = await searchKeys(database, q);
  const conditions = [sql<boolean>`c.external_id = ${q}`];
  if (/^[1-9]\d{0,15}$/.test(q)) conditions.push(sql<boolean>`c.id = ${Number(q)}`);
  if (keys.name) {
    const pattern = likePrefix(keys.name);
    conditions.push(
      sql<boolean>`customer_search_key(c.name) like ${pattern}`,
      sql<boolean>`customer_given_name_key(c.name) like ${pattern}`,
      sql<boolean>`customer_search_key(c.name_kana) like ${pattern}`,
      sql<boolean>`customer_given_name_key(c.name_kana) like ${pattern}`,
    );
  }
  if (!/\s/.test(q)) conditions.push(sql<boolean>`lower(c.email) like ${likePrefix(keys.email)}`);
  // Only what looks like a phone number is compared as one: "山田 090" is not a phone search.
  if (/^[0-9０-９+＋()（）\-‐－ー .　]+$/u.test(q) && (keys.digits?.length ?? 0) >= MIN_PHONE_DIGITS) {
    conditions.push(sql<boolean>`customer_phone_key(c.phone) like ${likePrefix(keys.digits!)}`);
  }
  return sql<SqlBool>`(${sql.join(conditions, sql` or `)})`;
}

/**
 * One page of customers matching `q`, `tag` and `storeId`, newest customer first (keyset paging on id:
 * stable while customers are added). Merged-away and erased customers are never listed, and only
 * customers of the actor's stores are: the same rule as opening a single customer.
 */
export async function searchCustomers(
  database: Database,
  actor: Actor,
  search: CustomerSearch = {},
): Promise<CustomerSearchPage> {
  const limit = search.limit ?? DEFAULT_SEARCH_LIMIT;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_SEARCH_LIMIT) {
    throw new KizunaError('invalid_request', `limit must be an integer from 1 to ${MAX_SEARCH_LIMIT}`, {
      field: 'limit',
    });
  }
  const after = search.cursor === undefined ? null : decodeCursor(search.cursor);
  const q = search.q?.trim() ?? '';
  const queryMatch = q === '' ? null : await matchesQuery(database, q);
  const rows = await database.db
    .selectFrom('customers as c')
    .leftJoin('stores as s', 's.id', 'c.home_store_id')
    .select([
      'c.id',
      'c.external_id',
      'c.name',
      'c.name_kana',
      'c.email',
      'c.phone',
      'c.tags',
      'c.do_not_contact',
      's.id as store_id',
      's.code as store_code',
      's.name as store_name',
    ])
    .where('c.merged_into_customer_id', 'is', null)
    .where('c.erased_at', 'is', null)
    .where(customerInStores(actor, sql.ref('c.id')))
    .$if(queryMatch !== null, (qb) => qb.where(queryMatch!))
    .$if(search.tag !== undefined, (qb) => qb.where(sql<boolean>`c.tags @> array[${search.tag}]::text[]`))
    .$if(search.storeId !== undefined, (qb) =>
      qb.where(customerInStores({ ...actor, storeIds: [search.storeId!] }, sql.ref('c.id'))),
    )
    .$if(after !== null, (qb) => qb.where('c.id', '<', after!))
    .orderBy('c.id', 'desc')
    .limit(limit + 1)
    .execute();
  const page = rows.slice(0, limit);
  return {
    customers: page.map((r) => ({
      id: r.id,
      external_id: r.external_id,
      name: r.name,
      name_kana: r.name_kana,
      email: r.email,
      phone: r.phone,
      tags: r.tags,
      home_store:
        r.store_id === null || r.store_code === null || r.store_name === null
          ? null
          : { id: r.store_id, code: r.store_code, name: r.store_name },
      do_not_contact: r.do_not_contact,
    })),
    nextCursor: rows.length > limit ? encodeCursor(page.at(-1)!.id) : null,
  };
}
