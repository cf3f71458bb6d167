import type { FastifyRequest } from 'fastify';
import type { Actor, Permission, SessionInfo } from '../auth/index.ts';

/**
 * Who may call a route. Every route declares one in its options, `{ config: { policy } }`; the server
 * refuses to start with a route that has none (and a test lists them all).
 * - `public`: anyone, with the reason written down (health probe, documentation, sign-in);
 * - `signedIn`: any authenticated caller (their own session, their own password);
 * - `permission`: callers whose role has it. `personalData` marks routes that return a customer's personal
 *   data: every such read by a person is written to the audit log (writes always are).
 */
export type RoutePolicy =
  | { public: string }
  | { signedIn: true; duringPasswordChange?: boolean }
  | { permission: Permission; personalData?: boolean };

/** What the audit entry of this request should name, filled in by the handler as it learns it. */
export type AuditNote = { customerId?: number; target?: string; detail?: Record<string, unknown> };

declare module 'fastify' {
  interface FastifyContextConfig {
    policy?: RoutePolicy;
  }
  interface FastifyRequest {
    /** The authenticated caller; null on public routes without credentials. */
    actor: Actor | null;
    /** The signed-in person's session (null for API tokens and public calls), as the auth hook found it. */
    session: SessionInfo | null;
    audit: AuditNote;
  }
}

/** The caller of a route that is not public (the auth hook has already refused anonymous calls). */
export function actorOf(request: FastifyRequest): Actor {
  if (!request.actor) throw new Error(`${request.method} ${request.url}: no actor on an authenticated route`);
  return request.actor;
}

export const allow = (permission: Permission, options: { personalData?: boolean } = {}) => ({
  config: { policy: { permission, ...options } satisfies RoutePolicy },
});
export const signedIn = (options: { duringPasswordChange?: boolean } = {}) => ({
  config: { policy: { signedIn: true, ...options } satisfies RoutePolicy },
});
export const publicRoute = (reason: string) => ({
  config: { policy: { public: reason } satisfies RoutePolicy },
});
