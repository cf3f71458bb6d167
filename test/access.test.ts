import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publicRoute } from '../src/api/policy.ts';
import { buildServer, type KizunaServer } from '../src/api/server.ts';
import {
  createApiToken,
  createStaffAccount,
  ensureOwnerAccount,
  LOCKOUT_AFTER_FAILURES,
  queryAudit,
} from '../src/auth/index.ts';
import type { Database } from '../src/db/index.ts';
import { signInAs, TEST_PASSWORD, tokenHeaders } from './helpers/api.ts';
import { openTestDatabase } from './helpers/database.ts';

let database: Database;
let app: KizunaServer;

beforeAll(async () => {
  database = await openTestDatabase();
  const db = database.db;
  await db
    .insertInto('stores')
    .values([
      { id: 1, code: 'A', name: 'Store A' },
      { id: 2, code: 'B', name: 'Store B' },
    ])
    .execute();
  await db
    .insertInto('customers')
    .values([
      { id: 1, external_id: 'CA', name: 'Home A', home_store_id: 1 },
      { id: 2, external_id: 'CB', name: 'Home B', home_store_id: 2 },
      { id: 3, external_id: 'CBA', name: 'Home B, bought at A', home_store_id: 2 },
    ])
    .execute();
  await db
    .insertInto('orders')
    .values({ customer_id: 3, id: 1, external_id: 'O1', store_id: 1, ordered_at: '2025-01-01T00:00:00Z' })
    .execute();
  app = buildServer(database);
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  await database?.close();
});

const fill = (url: string) => url.replace(/:[A-Za-z]+/g, '1');

describe('every route declares who may call it', () => {
  it('lists a policy for every registered route, and refuses anonymous calls to all but the public ones', async () => {
    expect(app.kizunaRoutes.length).toBeGreaterThan(10);
    const open: string[] = [];
    for (const route of app.kizunaRoutes) {
      expect(route.policy, `${route.method} ${route.url}`).toBeDefined();
      const response = await app.inject({ method: route.method as 'GET', url: fill(route.url) });
      if (route.policy && 'public' in route.policy) {
        open.push(`${route.method} ${route.url}`);
        continue;
      }
      expect(response.statusCode, `${route.method} ${route.url}`).toBe(401);
      expect(response.json().error.code).toBe('unauthenticated');
    }
    expect(open.sort()).toEqual([
      'GET /api/docs',
      'GET /api/openapi.json',
      'GET /health',
      'GET /s/*',
      'GET /u/*',
      'POST /api/forms/ticket',
      'POST /api/session',
      'POST /s/*',
      'POST /u/*',
    ]);
  });

  it('will not start with a route that declares no policy', async () => {
    const server = buildServer(database);
    expect(() => server.get('/api/forgotten', async () => ({}))).toThrow(/declares no access policy/);
    server.get('/api/remembered', publicRoute('test'), async () => ({}));
    await server.close();
  });
});

describe('signing in', () => {
  it('stores an argon2id hash, sets an HTTP-only strict cookie, and serves the session with its CSRF token', async () => {
    const { staffId, headers } = await signInAs(app, database, 'manager', { code: 'mgr1' });
    const row = await database.db
      .selectFrom('staff')
      .select('password_hash')
      .where('id', '=', staffId)
      .executeTakeFirstOrThrow();
    expect(row.password_hash).toMatch(/^\$argon2id\$/);
    expect(row.password_hash).not.toContain(TEST_PASSWORD);

    const login = await app.inject({
      method: 'POST',
      url: '/api/session',
      payload: { login: 'MGR1'.toLowerCase(), password: TEST_PASSWORD },
    });
    const cookie = login.cookies.find((c) => c.name === 'kizuna_session')!;
    expect(cookie.httpOnly).toBe(true);
    expect(cookie.sameSite).toBe('Strict');
    expect(cookie.path).toBe('/');
    const stored = await database.db.selectFrom('sessions').select('id_hash').execute();
    expect(stored.map((s) => s.id_hash)).not.toContain(cookie.value);

    const session = await app.inject({ method: 'GET', url: '/api/session', headers });
    expect(session.statusCode).toBe(200);
    expect(session.json()).toMatchObject({
      actor: { kind: 'staff', role: 'manager', storeIds: null },
      staff: { code: 'mgr1' },
      csrfToken: headers['x-csrf-token'],
    });
  });

  it('answers a wrong password and an unknown login alike, then locks the account', async () => {
    await createStaffAccount(database, {
      code: 'locky',
      name: 'L',
      role: 'store_staff',
      storeIds: [1],
      password: TEST_PASSWORD,
    });
    const unknown = await app.inject({
      method: 'POST',
      url: '/api/session',
      payload: { login: 'nobody', password: 'x' },
    });
    const wrong = await app.inject({
      method: 'POST',
      url: '/api/session',
      payload: { login: 'locky', password: 'x' },
      remoteAddress: '10.0.0.2',
    });
    expect(unknown.statusCode).toBe(401);
    expect(wrong.statusCode).toBe(401);
    expect(unknown.json().error.message).toBe(wrong.json().error.message);
    for (let i = 1; i < LOCKOUT_AFTER_FAILURES; i++) {
      await app.inject({
        method: 'POST',
        url: '/api/session',
        payload: { login: 'locky', password: 'y' },
        remoteAddress: '10.0.0.2',
      });
    }
    const locked = await app.inject({
      method: 'POST',
      url: '/api/session',
      payload: { login: 'locky', password: TEST_PASSWORD },
      remoteAddress: '10.0.0.3',
    });
    expect(locked.statusCode).toBe(423);
    expect(locked.json().error.code).toBe('account_locked');
    const audit = await queryAudit(database, { action: 'POST /api/session', outcome: 'denied' });
    expect(audit.entries.length).toBeGreaterThanOrEqual(LOCKOUT_AFTER_FAILURES);
  });

  it('rate-limits sign-in attempts per address', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) {
      const r = await app.inject({
        method: 'POST',
        url: '/api/session',
        payload: { login: 'nobody', password: 'x' },
        remoteAddress: '10.9.9.9',
      });
      statuses.push(r.statusCode);
    }
    expect(statuses.slice(0, 10).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(10)).toEqual([429, 429]);
  });

  it('requires the CSRF token on writes made with the session cookie, not on API-token writes', async () => {
    const owner = await signInAs(app, database, 'owner');
    const payload = { name: 'pos', role: 'store_staff', storeIds: [1] };
    const withoutCsrf = await app.inject({
      method: 'POST',
      url: '/api/tokens',
      payload,
      headers: { cookie: owner.headers.cookie! },
    });
    expect(withoutCsrf.statusCode).toBe(403);
    expect(withoutCsrf.json().error.code).toBe('csrf_failed');
    const wrongCsrf = await app.inject({
      method: 'POST',
      url: '/api/tokens',
      payload,
      headers: { cookie: owner.headers.cookie!, 'x-csrf-token': 'guess' },
    });
    expect(wrongCsrf.statusCode).toBe(403);
    const ok = await app.inject({ method: 'POST', url: '/api/tokens', payload, headers: owner.headers });
    expect(ok.statusCode).toBe(201);
    const byToken = await app.inject({
      method: 'POST',
      url: '/api/tokens',
      payload,
      headers: await tokenHeaders(database, 'owner'),
    });
    expect(byToken.statusCode).toBe(201);
  });

  it('signs out: the cookie stops working', async () => {
    const { headers } = await signInAs(app, database, 'marketer');
    expect((await app.inject({ method: 'DELETE', url: '/api/session', headers })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/api/session', headers })).statusCode).toBe(401);
  });
});

describe('first start and one-time passwords', () => {
  it('creates the owner once, with a one-time password that must be changed before anything else', async () => {
    const fresh = await openTestDatabase();
    const server = buildServer(fresh);
    try {
      const first = await ensureOwnerAccount(fresh);
      expect(first).toMatchObject({ created: true, login: 'owner', generated: true });
      expect(await ensureOwnerAccount(fresh)).toEqual({ created: false });
      const password = first.created ? first.password! : '';
      const login = await server.inject({
        method: 'POST',
        url: '/api/session',
        payload: { login: 'owner', password },
      });
      expect(login.json().staff.mustChangePassword).toBe(true);
      const headers = {
        cookie: `kizuna_session=${login.cookies.find((c) => c.name === 'kizuna_session')!.value}`,
        'x-csrf-token': login.json().csrfToken,
      };
      const blocked = await server.inject({ method: 'GET', url: '/api/staff', headers });
      expect(blocked.statusCode).toBe(403);
      expect(blocked.json().error.code).toBe('password_change_required');
      const weak = await server.inject({
        method: 'POST',
        url: '/api/session/password',
        headers,
        payload: { currentPassword: password, newPassword: 'short' },
      });
      expect(weak.statusCode).toBe(400);
      expect(weak.json().error.code).toBe('weak_password');
      const changed = await server.inject({
        method: 'POST',
        url: '/api/session/password',
        headers,
        payload: { currentPassword: password, newPassword: 'a much longer passphrase' },
      });
      expect(changed.statusCode).toBe(200);
      const again = await server.inject({
        method: 'POST',
        url: '/api/session',
        payload: { login: 'owner', password: 'a much longer passphrase' },
      });
      expect(again.json().staff.mustChangePassword).toBe(false);
    } finally {
      await server.close();
      await fresh.close();
    }
  });

  it('takes KIZUNA_ADMIN_PASSWORD as given, without a forced change', async () => {
    const fresh = await openTestDatabase();
    try {
      const result = await ensureOwnerAccount(fresh, 'the admin chose this one');
      expect(result).toEqual({ created: true, login: 'owner', password: null, generated: false });
      const row = await fresh.db
        .selectFrom('staff')
        .select(['must_change_password', 'role', 'all_stores'])
        .where('code', '=', 'owner')
        .executeTakeFirstOrThrow();
      expect(row).toEqual({ must_change_password: false, role: 'owner', all_stores: true });
    } finally {
      await fresh.close();
    }
  });
});

describe('API tokens', () => {
  it('stores only a hash, shows the token once, and stops working when revoked', async () => {
    const { token, apiToken } = await createApiToken(database, {
      name: 'e-shop',
      role: 'store_staff',
      storeIds: [1],
    });
    expect(token).toMatch(/^kz_/);
    const rows = await database.db.selectFrom('api_tokens').select(['token_hash', 'prefix']).execute();
    expect(rows.some((r) => r.token_hash === token)).toBe(false);
    const owner = await tokenHeaders(database, 'owner');
    const list = (await app.inject({ method: 'GET', url: '/api/tokens', headers: owner })).json();
    expect(JSON.stringify(list)).not.toContain(token);
    expect(list.tokens.find((t: { id: number }) => t.id === apiToken.id)).toMatchObject({
      prefix: token.slice(0, 9),
    });

    const headers = { authorization: `Bearer ${token}` };
    expect((await app.inject({ method: 'GET', url: '/api/customers/1/timeline', headers })).statusCode).toBe(
      200,
    );
    const revoked = await app.inject({ method: 'DELETE', url: `/api/tokens/${apiToken.id}`, headers: owner });
    expect(revoked.statusCode).toBe(200);
    const after = await app.inject({ method: 'GET', url: '/api/customers/1/timeline', headers });
    expect(after.statusCode).toBe(401);
    const bogus = await app.inject({
      method: 'GET',
      url: '/api/customers/1/timeline',
      headers: { authorization: 'Bearer kz_not-a-token' },
    });
    expect(bogus.statusCode).toBe(401);
  });
});

describe('roles', () => {
  // Written out by hand from the role table in docs/accounts.md, not derived from the code: which roles
  // may call each route. Allowed calls may still fail validation (an empty body) but never with 403.
  const everyone = ['owner', 'manager', 'marketer', 'store_staff', 'service_agent'];
  const matrix: [string, string, string[], unknown?][] = [
    ['GET', '/api/customers/1/timeline', everyone],
    ['GET', '/api/customers/1/360', everyone],
    ['GET', '/api/customers?q=Home', everyone],
    ['POST', '/api/customers', ['owner', 'manager', 'store_staff', 'service_agent'], {}],
    ['POST', '/api/customers/1/merge', ['owner', 'manager'], {}],
    ['GET', '/api/customers/1/export', ['owner', 'manager']],
    ['POST', '/api/customers/1/erase', ['owner'], {}],
    ['POST', '/api/customers/1/preferences', ['owner', 'manager', 'store_staff', 'service_agent'], {}],
    ['POST', '/api/orders', ['owner', 'manager', 'store_staff'], {}],
    ['GET', '/api/products', everyone],
    ['POST', '/api/products', ['owner', 'manager'], {}],
    ['POST', '/api/customers/1/touches', ['owner', 'manager', 'marketer'], {}],
    ['POST', '/api/customers/1/interactions', ['owner', 'manager', 'store_staff', 'service_agent'], {}],
    ['GET', '/api/reports/pareto', ['owner', 'manager', 'marketer']],
    ['GET', '/api/clv/equity', ['owner', 'manager', 'marketer']],
    ['POST', '/api/analytics/refresh', ['owner', 'manager', 'marketer'], { asOf: 'not a date' }],
    ['GET', '/api/staff', ['owner']],
    ['GET', '/api/audit', ['owner']],
    ['GET', '/api/settings', ['owner']],
    ['GET', '/api/tokens', ['owner']],
  ];
  for (const [method, url, allowed, payload] of matrix) {
    for (const role of everyone) {
      const may = allowed.includes(role);
      it(`${role} ${method} ${url} → ${may ? 'allowed' : '403'}`, async () => {
        const headers = await tokenHeaders(database, role as 'owner');
        const response = await app.inject({
          method: method as 'GET',
          url,
          headers,
          payload: payload as object,
        });
        if (may) {
          expect([401, 403]).not.toContain(response.statusCode);
        } else {
          expect(response.statusCode).toBe(403);
          expect(response.json().error).toMatchObject({ code: 'forbidden' });
          expect(response.json().error.message).toContain(role);
        }
      });
    }
  }

  it('logs refusals in the audit log', async () => {
    const { headers, staffId } = await signInAs(app, database, 'marketer');
    await app.inject({ method: 'GET', url: '/api/audit', headers });
    const entries = await queryAudit(database, { staffId, outcome: 'denied' });
    expect(entries.entries[0]).toMatchObject({ action: 'GET /api/audit', status: 403, actorKind: 'staff' });
  });
});

describe('store scope', () => {
  it('lets store staff open customers of their stores only', async () => {
    const storeA = await signInAs(app, database, 'store_staff', { storeIds: [1] });
    const get = (id: string) =>
      app.inject({ method: 'GET', url: `/api/customers/${id}/timeline`, headers: storeA.headers });
    expect((await get('1')).statusCode).toBe(200); // home store A
    expect((await get('3')).statusCode).toBe(200); // home B, bought at A
    expect((await get('CBA')).statusCode).toBe(200);
    const other = await get('2'); // store B only
    expect(other.statusCode).toBe(403);
    expect(other.json().error.code).toBe('customer_out_of_scope');
    expect((await get('CB')).statusCode).toBe(403);
    const tokenB = await tokenHeaders(database, 'store_staff', { storeIds: [2] });
    const fromB = await app.inject({ method: 'GET', url: '/api/customers/1/timeline', headers: tokenB });
    expect(fromB.statusCode).toBe(403);
  });
});

describe('audit', () => {
  it("records a person's reads of personal data with who, what, whom and from where; not an integration's", async () => {
    const { headers, staffId } = await signInAs(app, database, 'service_agent');
    await app.inject({
      method: 'GET',
      url: '/api/customers/CA/timeline',
      headers,
      remoteAddress: '192.0.2.7',
    });
    const reads = await queryAudit(database, { staffId });
    expect(reads.entries[0]).toMatchObject({
      action: 'GET /api/customers/:id/timeline',
      customerId: 1,
      outcome: 'ok',
      status: 200,
      ip: '192.0.2.7',
      actorName: 'Test service_agent',
    });
    const before = (await queryAudit(database, { customerId: 1, limit: 1000 })).entries.length;
    await app.inject({
      method: 'GET',
      url: '/api/customers/1/timeline',
      headers: await tokenHeaders(database, 'manager'),
    });
    expect((await queryAudit(database, { customerId: 1, limit: 1000 })).entries.length).toBe(before);
  });

  it('records every write, and an owner can read the log through the API', async () => {
    const owner = await tokenHeaders(database, 'owner');
    const created = await app.inject({
      method: 'POST',
      url: '/api/staff',
      headers: owner,
      payload: { code: 'clerk9', name: 'Clerk', role: 'store_staff', storeIds: [2] },
    });
    expect(created.statusCode).toBe(201);
    expect(created.json().oneTimePassword).toMatch(/^[A-Za-z0-9]{5}(-[A-Za-z0-9]{5}){3}$/);
    const log = await app.inject({
      method: 'GET',
      url: '/api/audit?action=POST%20/api/staff&limit=5',
      headers: owner,
    });
    expect(log.statusCode).toBe(200);
    expect(log.json().entries[0]).toMatchObject({
      action: 'POST /api/staff',
      outcome: 'ok',
      status: 201,
      actorKind: 'token',
      target: `staff:${created.json().staff.id}`,
    });
    expect(JSON.stringify(log.json())).not.toContain(created.json().oneTimePassword);
  });
});

describe('security basics', () => {
  it('sends security headers and no CORS permission to other origins', async () => {
    const response = await app.inject({
      method: 'GET',
      url: '/health',
      headers: { origin: 'https://evil.example' },
    });
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['x-frame-options']).toBe('SAMEORIGIN');
    expect(response.headers['content-security-policy']).toContain("default-src 'self'");
    // Plain HTTP on a shop's network must keep working.
    expect(response.headers['content-security-policy']).not.toContain('upgrade-insecure-requests');
    expect(response.headers['access-control-allow-origin']).toBeUndefined();
    const preflight = await app.inject({
      method: 'OPTIONS',
      url: '/api/customers/1/timeline',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' },
    });
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('complaint text', () => {
  it('is hidden from marketers on the timeline too, by default', async () => {
    await database.db
      .insertInto('interactions')
      .values({
        customer_id: 1,
        kind: 'complaint',
        channel: 'store',
        subject: 'Squeaky shoe',
        body: 'The left heel squeaks on every step',
        opened_at: '2025-02-01T00:00:00Z',
      })
      .execute();
    const read = async (role: 'marketer' | 'manager') => {
      const response = await app.inject({
        method: 'GET',
        url: '/api/customers/1/timeline?kinds=interaction',
        headers: await tokenHeaders(database, role),
      });
      return response.json().events[0];
    };
    expect(await read('marketer')).toMatchObject({ subject: 'Squeaky shoe', body: null, bodyRedacted: true });
    expect(await read('manager')).toMatchObject({
      body: 'The left heel squeaks on every step',
      bodyRedacted: false,
    });
  });
});

describe('audit of writes', () => {
  it('records an entry for a call to every route that writes, whatever its outcome', async () => {
    const owner = await signInAs(app, database, 'owner', { code: 'audit-every-write' });
    const writes = app.kizunaRoutes.filter(
      (r) => r.method !== 'GET' && !(r.policy && 'public' in r.policy) && r.url !== '/api/session',
    );
    expect(writes.length).toBeGreaterThan(15);
    for (const route of writes) {
      // Ids that exist nowhere and empty bodies: refused or not found (an empty settings change is a no-op).
      const url = route.url.replace(/:[A-Za-z]+/g, '999999');
      const response = await app.inject({
        method: route.method as 'POST',
        url,
        headers: owner.headers,
        payload: {},
      });
      const status = response.statusCode;
      const { entries } = await queryAudit(database, { staffId: owner.staffId, limit: 1 });
      expect(entries[0], `${route.method} ${route.url}`).toMatchObject({
        action: `${route.method} ${route.url}`,
        status,
        outcome: status < 400 ? 'ok' : status === 403 ? 'denied' : 'failed',
      });
    }
  });
});
