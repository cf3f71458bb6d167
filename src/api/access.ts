import cookie from '@fastify/cookie';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  type Actor,
  recordAudit,
  resumeSession,
  roleCan,
  type SessionInfo,
  sameSecret,
  tokenActor,
} from '../auth/index.ts';
import type { Database } from '../db/index.ts';
import { KizunaError } from '../errors.ts';
import type { AuditNote, RoutePolicy } from './policy.ts';

export const SESSION_COOKIE = 'kizuna_session';
export const CSRF_HEADER = 'x-csrf-token';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Every route the server has, with its policy: what the completeness test and `/api/docs` read. */
export type RegisteredRoute = { method: string; url: string; policy: RoutePolicy | undefined };

/** The caller: an integration (no session) or a person with their session. */
type Authenticated = { actor: Actor; session: SessionInfo | null };

async function authenticate(database: Database, request: FastifyRequest): Promise<Authenticated | null> {
  const header = request.headers.authorization;
  if (header !== undefined) {
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    const actor = match ? await tokenActor(database, match[1]!) : null;
    if (!actor)
      throw new KizunaError('unauthenticated', 'The API token is unknown or revoked', { status: 401 });
    return { actor, session: null };
  }
  const sessionToken = request.cookies[SESSION_COOKIE];
  if (sessionToken === undefined) return null;
  const session = await resumeSession(database, sessionToken);
  if (!session) return null;
  return { actor: session.actor, session };
}

function denied(status: 401 | 403, code: string, message: string): KizunaError {
  return new KizunaError(code, message, { status });
}

/**
 * Authentication, CSRF, authorization and the audit log for every route, installed on the root scope
 * before any route module so that its hooks run for all of them.
 */
export function installAccessControl(
  app: FastifyInstance,
  database: Database,
  routes: RegisteredRoute[],
): void {
  void app.register(cookie);
  app.decorateRequest('actor', null);
  app.decorateRequest('session', null);
  app.decorateRequest('audit', undefined as unknown as AuditNote);

  app.addHook('onRoute', (route) => {
    const policy = route.config?.policy;
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) {
      // Fastify adds HEAD for every GET with the same options.
      if (method === 'HEAD') continue;
      if (!policy) throw new Error(`Route ${method} ${route.url} declares no access policy (config.policy)`);
      routes.push({ method, url: route.url, policy });
    }
  });

  app.addHook('onRequest', async (request) => {
    request.audit = {};
    const policy = request.routeOptions.config.policy;
    if (!policy) return; // no such route: the not-found handler answers
    const auth = await authenticate(database, request);
    request.actor = auth?.actor ?? null;
    request.session = auth?.session ?? null;
    if ('public' in policy) return;
    if (!auth) throw denied(401, 'unauthenticated', 'Sign in (POST /api/session) or send an API token');
    if (auth.session !== null && !SAFE_METHODS.has(request.method)) {
      const sent = request.headers[CSRF_HEADER];
      if (typeof sent !== 'string' || !sameSecret(sent, auth.session.csrfToken)) {
        throw denied(403, 'csrf_failed', `Send the session's CSRF token in the ${CSRF_HEADER} header`);
      }
    }
    if (auth.session?.account.mustChangePassword && !('signedIn' in policy && policy.duringPasswordChange)) {
      throw denied(
        403,
        'password_change_required',
        'Change the one-time password first (POST /api/session/password)',
      );
    }
    if ('permission' in policy && !roleCan(auth.actor.role, policy.permission)) {
      throw denied(403, 'forbidden', `Your role (${auth.actor.role}) does not allow ${policy.permission}`);
    }
  });

  // Before the answer leaves: every write, every refusal, and every read of personal data by a person.
  app.addHook('onSend', async (request: FastifyRequest, reply: FastifyReply, payload) => {
    const policy = request.routeOptions.config.policy;
    if (!policy) return payload;
    const status = reply.statusCode;
    const write = !SAFE_METHODS.has(request.method);
    const refused = status === 401 || status === 403;
    const personalRead =
      'permission' in policy && policy.personalData === true && request.actor?.kind === 'staff';
    if (!(write || refused || personalRead)) return payload;
    const outcome = status < 400 ? 'ok' : refused ? 'denied' : 'failed';
    if (refused)
      request.log.warn({ status, url: request.url, actor: request.actor?.name }, 'request refused');
    await recordAudit(database, {
      actor: request.actor,
      action: `${request.method} ${request.routeOptions.url}`,
      outcome,
      status,
      customerId: request.audit.customerId ?? null,
      target: request.audit.target ?? targetOf(request),
      ip: request.ip,
      detail: request.audit.detail,
    });
    return payload;
  });
}

/** The route parameters as `name=value` (ids and external ids; no personal values travel in URLs). */
function targetOf(request: FastifyRequest): string | null {
  const params = request.params as Record<string, string> | undefined;
  if (!params || Object.keys(params).length === 0) return null;
  return Object.entries(params)
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}
