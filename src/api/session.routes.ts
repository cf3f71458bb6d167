import { z } from 'zod';
import {
  checkPasswordStrength,
  endSession,
  getStaffAccount,
  type StaffAccount,
  setStaffPassword,
  signIn,
  actorOf as staffActor,
  verifyCredentials,
} from '../auth/index.ts';
import { KizunaError } from '../errors.ts';
import { SESSION_COOKIE } from './access.ts';
import type { RouteDoc } from './openapi.ts';
import { actorOf, publicRoute, signedIn } from './policy.ts';
import type { RouteModule } from './route-module.ts';
import { parseInput } from './validation.ts';

export const SignInBody = z.object({
  login: z.string().min(1).max(200).describe('staff code or e-mail'),
  password: z.string().min(1).max(1024),
});

export const PasswordChangeBody = z.object({
  currentPassword: z.string().min(1).max(1024),
  newPassword: z.string().min(1).max(1024),
});

/** Sign-in attempts per client address per minute. */
export const SIGN_IN_RATE_PER_MINUTE = 10;

export function publicAccount(account: StaffAccount) {
  return {
    id: account.id,
    code: account.code,
    name: account.name,
    email: account.email,
    role: account.role,
    storeId: account.storeId,
    storeIds: account.storeIds,
    allStores: account.allStores,
    mustChangePassword: account.mustChangePassword,
  };
}

/** Sessions for people: sign in with a password, a cookie plus a CSRF token, sign out, change password. */
export const sessionRoutes: RouteModule = (app, { database }) => {
  app.post(
    '/api/session',
    {
      config: {
        ...publicRoute('signing in is how a caller gets credentials').config,
        rateLimit: { max: SIGN_IN_RATE_PER_MINUTE, timeWindow: '1 minute' },
      },
    },
    async (request, reply) => {
      const body = parseInput(SignInBody, request.body);
      const result = await signIn(database, body.login, body.password, {
        ip: request.ip,
        userAgent: request.headers['user-agent'],
      });
      if (!('sessionToken' in result)) {
        request.audit.target = result.staffId === null ? 'staff:unknown' : `staff:${result.staffId}`;
        request.audit.detail = { reason: result.code };
        throw new KizunaError(result.code, result.message, {
          status: result.code === 'account_locked' ? 423 : 401,
        });
      }
      request.actor = staffActor(result.account);
      request.audit.target = `staff:${result.account.id}`;
      reply.setCookie(SESSION_COOKIE, result.sessionToken, {
        path: '/',
        httpOnly: true,
        sameSite: 'strict',
        secure: 'auto',
        expires: result.expiresAt,
      });
      return {
        staff: publicAccount(result.account),
        csrfToken: result.csrfToken,
        expiresAt: result.expiresAt,
      };
    },
  );

  app.get('/api/session', signedIn({ duringPasswordChange: true }), async (request) => {
    const actor = actorOf(request);
    const session = request.session;
    return {
      actor: { kind: actor.kind, name: actor.name, role: actor.role, storeIds: actor.storeIds },
      staff: session ? publicAccount(session.account) : null,
      csrfToken: session?.csrfToken ?? null,
    };
  });

  app.delete('/api/session', signedIn({ duringPasswordChange: true }), async (request, reply) => {
    if (request.session) await endSession(database, request.session.idHash);
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return { signedOut: true };
  });

  app.post('/api/session/password', signedIn({ duringPasswordChange: true }), async (request) => {
    const actor = actorOf(request);
    if (actor.staffId === null) {
      throw new KizunaError('not_a_person', 'Only a signed-in staff member can change their password', {
        status: 403,
      });
    }
    const body = parseInput(PasswordChangeBody, request.body);
    checkPasswordStrength(body.newPassword);
    const account = await getStaffAccount(database, actor.staffId);
    const check = account ? await verifyCredentials(database, account.code, body.currentPassword) : null;
    if (!check || 'message' in check) {
      throw new KizunaError('invalid_credentials', 'The current password is wrong', {
        field: 'currentPassword',
        status: 403,
      });
    }
    if (body.newPassword === body.currentPassword) {
      throw new KizunaError('weak_password', 'Choose a password different from the current one', {
        field: 'newPassword',
      });
    }
    // Every session ends, this one included: the caller signs in again with the new password.
    await setStaffPassword(database, actor.staffId, body.newPassword);
    request.audit.target = `staff:${actor.staffId}`;
    return { changed: true, signInAgain: true };
  });
};

export const sessionRouteDocs: RouteDoc[] = [
  {
    method: 'POST',
    path: '/api/session',
    tag: 'accounts',
    summary: 'Sign in with a staff code (or e-mail) and password.',
    description: `Sets the HTTP-only session cookie and returns the CSRF token, which every request that changes something must send in the X-CSRF-Token header. ${SIGN_IN_RATE_PER_MINUTE} attempts per minute per address; an account is locked for a while after repeated failures.`,
    body: SignInBody,
    responses: {
      200: '{staff, csrfToken, expiresAt}',
      401: 'wrong login or password',
      423: 'account locked after repeated failures',
      429: 'too many attempts from this address',
    },
  },
  {
    method: 'GET',
    path: '/api/session',
    tag: 'accounts',
    summary: 'Who is signed in: role, stores, and the CSRF token of the session.',
    responses: { 200: '{actor, staff, csrfToken}', 401: 'not signed in' },
  },
  {
    method: 'DELETE',
    path: '/api/session',
    tag: 'accounts',
    summary: 'Sign out (ends the session).',
    responses: { 200: '{signedOut}', 401: 'not signed in' },
  },
  {
    method: 'POST',
    path: '/api/session/password',
    tag: 'accounts',
    summary: 'Change your own password (required after a one-time password). Ends all your sessions.',
    body: PasswordChangeBody,
    responses: {
      200: '{changed}',
      400: 'the new password is too weak',
      403: 'the current password is wrong',
    },
  },
];
