import type { FastifyInstance } from 'fastify';
import { createApiToken, createStaffAccount } from '../../src/auth/index.ts';
import type { Database, Role } from '../../src/db/index.ts';

export type AccessOptions = { storeIds?: number[]; allStores?: boolean };

/**
 * Headers that authenticate as an integration with `role` (an API token). Stores: the given ones, or
 * every store when none are given.
 */
export async function tokenHeaders(
  database: Database,
  role: Role,
  options: AccessOptions = {},
): Promise<Record<string, string>> {
  const storeIds = options.storeIds ?? [];
  const { token } = await createApiToken(database, {
    name: `test ${role} ${Math.random().toString(36).slice(2, 8)}`,
    role,
    storeIds,
    allStores: options.allStores ?? storeIds.length === 0,
  });
  return { authorization: `Bearer ${token}` };
}

export const TEST_PASSWORD = 'correct horse battery staple';

/**
 * Creates a staff member with `role` and signs them in through the API, as the web app does. Returns the
 * headers a browser would send (session cookie and CSRF token) and the staff id.
 */
export async function signInAs(
  app: FastifyInstance,
  database: Database,
  role: Role,
  options: AccessOptions & { code?: string } = {},
): Promise<{ headers: Record<string, string>; staffId: number }> {
  const code = options.code ?? `${role}-${Math.random().toString(36).slice(2, 8)}`;
  const account = await createStaffAccount(database, {
    code,
    name: `Test ${role}`,
    role,
    storeIds: options.storeIds,
    allStores: options.allStores ?? (options.storeIds ?? []).length === 0,
    password: TEST_PASSWORD,
  });
  const response = await app.inject({
    method: 'POST',
    url: '/api/session',
    payload: { login: code, password: TEST_PASSWORD },
  });
  if (response.statusCode !== 200) throw new Error(`sign-in failed: ${response.body}`);
  const cookie = response.cookies.find((c) => c.name === 'kizuna_session');
  if (!cookie) throw new Error('sign-in set no session cookie');
  return {
    headers: { cookie: `kizuna_session=${cookie.value}`, 'x-csrf-token': response.json().csrfToken },
    staffId: account.id,
  };
}
