import type { Database, Role } from '../db/index.ts';
import { KizunaError } from '../errors.ts';
import { checkStores } from './accounts.ts';
import type { Actor } from './actor.ts';
import { hashToken, randomSecret } from './secrets.ts';

/** Every token starts with this, so that secret scanners and people recognise one. */
export const TOKEN_PREFIX = 'kz_';

export type ApiToken = {
  id: number;
  name: string;
  /** The first characters, to tell tokens apart in lists; the token itself is never shown again. */
  prefix: string;
  role: Role;
  storeIds: number[];
  allStores: boolean;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
};

export type ApiTokenInput = {
  name: string;
  role: Role;
  storeIds?: number[];
  allStores?: boolean;
  createdByStaffId?: number | null;
};

/** Creates a token; the returned `token` is the only time the secret exists outside the caller. */
export async function createApiToken(
  database: Database,
  input: ApiTokenInput,
): Promise<{ token: string; apiToken: ApiToken }> {
  const storeIds = [...new Set(input.storeIds ?? [])];
  const allStores = input.allStores ?? input.role === 'owner';
  if (!allStores && storeIds.length === 0) {
    throw new KizunaError('invalid_request', 'A token needs stores (storeIds) or allStores: true', {
      field: 'storeIds',
    });
  }
  await checkStores(database, storeIds);
  const token = `${TOKEN_PREFIX}${randomSecret()}`;
  const row = await database.db
    .insertInto('api_tokens')
    .values({
      name: input.name,
      token_hash: hashToken(token),
      prefix: token.slice(0, TOKEN_PREFIX.length + 6),
      role: input.role,
      store_ids: storeIds,
      all_stores: allStores,
      created_by_staff_id: input.createdByStaffId ?? null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return { token, apiToken: toApiToken(row) };
}

function toApiToken(row: {
  id: number;
  name: string;
  prefix: string;
  role: Role;
  store_ids: number[];
  all_stores: boolean;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}): ApiToken {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    role: row.role,
    storeIds: row.store_ids.map(Number),
    allStores: row.all_stores,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    revokedAt: row.revoked_at,
  };
}

export async function listApiTokens(database: Database): Promise<ApiToken[]> {
  const rows = await database.db.selectFrom('api_tokens').selectAll().orderBy('id').execute();
  return rows.map(toApiToken);
}

export async function revokeApiToken(database: Database, id: number): Promise<ApiToken> {
  const row = await database.db
    .updateTable('api_tokens')
    .set({ revoked_at: new Date() })
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .returningAll()
    .executeTakeFirst();
  if (!row) {
    throw new KizunaError('token_not_found', `No active API token ${id}`, { field: 'id', status: 404 });
  }
  return toApiToken(row);
}

/** The actor behind a bearer token, or null when it is unknown or revoked. */
export async function tokenActor(database: Database, token: string, now = new Date()): Promise<Actor | null> {
  if (!token.startsWith(TOKEN_PREFIX)) return null;
  const row = await database.db
    .selectFrom('api_tokens')
    .selectAll()
    .where('token_hash', '=', hashToken(token))
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  if (!row) return null;
  if (row.last_used_at === null || now.getTime() - row.last_used_at.getTime() > 60_000) {
    await database.db.updateTable('api_tokens').set({ last_used_at: now }).where('id', '=', row.id).execute();
  }
  return {
    kind: 'token',
    staffId: null,
    tokenId: row.id,
    name: `token ${row.name}`,
    role: row.role,
    storeIds: row.all_stores ? null : row.store_ids.map(Number),
  };
}
