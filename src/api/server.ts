import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
} from 'fastify';
import { z } from 'zod';
import type { Database } from '../db/index.ts';
import { KizunaError } from '../errors.ts';
import { installAccessControl, type RegisteredRoute } from './access.ts';
import { accountRouteDocs, accountRoutes } from './account.routes.ts';
import { activityRouteDocs, activityRoutes } from './activity.routes.ts';
import { analyticsRouteDocs, analyticsRoutes } from './analytics.routes.ts';
import { campaignRouteDocs, campaignRoutes } from './campaign.routes.ts';
import { campaignReportRouteDocs, campaignReportRoutes } from './campaign-report.routes.ts';
import { clvRouteDocs, clvRoutes } from './clv.routes.ts';
import { commerceRouteDocs, commerceRoutes } from './commerce.routes.ts';
import { customerRouteDocs, customerRoutes } from './customer.routes.ts';
import { customer360RouteDocs, customer360Routes } from './customer-360.routes.ts';
import { dashboardRouteDocs, dashboardRoutes } from './dashboard.routes.ts';
import { docsRouteDocs, docsRoutes } from './docs.routes.ts';
import { flowRouteDocs, flowRoutes } from './flow.routes.ts';
import { healthRouteDocs, healthRoutes } from './health.routes.ts';
import { importRouteDocs, importRoutes } from './import.routes.ts';
import type { RouteDoc } from './openapi.ts';
import { preferenceRouteDocs, preferenceRoutes } from './preference.routes.ts';
import { privacyRouteDocs, privacyRoutes } from './privacy.routes.ts';
import type { ApiContext, RouteModule } from './route-module.ts';
import { segmentRouteDocs, segmentRoutes } from './segment.routes.ts';
import { sessionRouteDocs, sessionRoutes } from './session.routes.ts';
import { slaRouteDocs, slaRoutes } from './sla.routes.ts';
import { ticketRouteDocs, ticketRoutes } from './ticket.routes.ts';
import { invalidRequest } from './validation.ts';
import { installWebApp, isWebAppRequest, sendWebApp } from './web-app.ts';

/** The API's only error shape. */
export type ErrorBody = { error: { code: string; message: string; field?: string } };

export type ServerOptions = {
  /** Fastify's logger: false (default) for tests, true or pino options for a running server. */
  logger?: FastifyServerOptions['logger'];
  /** Trust X-Forwarded-* from a reverse proxy (KIZUNA_TRUST_PROXY), for client addresses and https. */
  trustProxy?: boolean;
};

/** The server and every route it registered, each with its access policy. */
export type KizunaServer = FastifyInstance & { kizunaRoutes: readonly RegisteredRoute[] };

export const BODY_LIMIT_BYTES = 1024 * 1024;

/** Every route's documentation (each module's `<module>RouteDocs`); the OpenAPI document is built from it. */
export const ROUTE_DOCS: readonly RouteDoc[] = [
  ...healthRouteDocs,
  ...sessionRouteDocs,
  ...accountRouteDocs,
  ...customerRouteDocs,
  ...commerceRouteDocs,
  ...activityRouteDocs,
  ...customer360RouteDocs,
  ...preferenceRouteDocs,
  ...privacyRouteDocs,
  ...clvRouteDocs,
  ...analyticsRouteDocs,
  ...dashboardRouteDocs,
  ...importRouteDocs,
  ...segmentRouteDocs,
  ...ticketRouteDocs,
  ...slaRouteDocs,
  ...campaignRouteDocs,
  ...campaignReportRouteDocs,
  ...flowRouteDocs,
  ...docsRouteDocs,
];

/** Each module adds its `<module>.routes.ts` here; each is registered in its own Fastify scope. */
const ROUTE_MODULES: readonly RouteModule[] = [
  healthRoutes,
  sessionRoutes,
  accountRoutes,
  customerRoutes,
  commerceRoutes,
  activityRoutes,
  customer360Routes,
  preferenceRoutes,
  privacyRoutes,
  clvRoutes,
  analyticsRoutes,
  dashboardRoutes,
  importRoutes,
  segmentRoutes,
  ticketRoutes,
  slaRoutes,
  campaignRoutes,
  campaignReportRoutes,
  flowRoutes,
  docsRoutes(ROUTE_DOCS),
];

// Codes for the client errors Fastify itself raises (bad JSON, body too large, wrong content type…).
const CLIENT_ERROR_CODES: Record<number, string> = {
  400: 'invalid_request',
  404: 'not_found',
  405: 'method_not_allowed',
  406: 'not_acceptable',
  413: 'payload_too_large',
  414: 'uri_too_long',
  415: 'unsupported_media_type',
  429: 'too_many_requests',
};

function errorBody(code: string, message: string, field?: string): ErrorBody {
  return { error: field === undefined ? { code, message } : { code, message, field } };
}

function sendError(reply: FastifyReply, status: number, body: ErrorBody): FastifyReply {
  return reply.status(status).type('application/json; charset=utf-8').send(body);
}

function statusCodeOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || !('statusCode' in error)) return undefined;
  const status = error.statusCode;
  return typeof status === 'number' ? status : undefined;
}

/** Every failure, whether a route's or Fastify's own, leaves in the one error shape. */
function sendFailure(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (error instanceof KizunaError) {
    if (error.status >= 500) request.log.error({ err: error }, 'request failed');
    return sendError(reply, error.status, errorBody(error.code, error.message, error.field));
  }
  // A route that parsed with zod directly instead of parseInput still gets the same 400.
  if (error instanceof z.ZodError) {
    const invalid = invalidRequest(error);
    return sendError(reply, 400, errorBody(invalid.code, invalid.message, invalid.field));
  }
  const status = statusCodeOf(error);
  if (status !== undefined && status >= 400 && status < 500) {
    // Fastify's own client errors (unparseable JSON, body over the limit…): their messages are written
    // for the client and say nothing about the server.
    const message = error instanceof Error ? error.message : 'Bad request';
    return sendError(reply, status, errorBody(CLIENT_ERROR_CODES[status] ?? 'invalid_request', message));
  }
  request.log.error({ err: error }, 'unhandled error');
  return sendError(reply, 500, errorBody('internal_error', 'Internal server error; it has been logged.'));
}

/**
 * The HTTP API over one database, not yet listening (tests use `inject`). Every error leaves as
 * `{ error: { code, message, field? } }`; an unexpected one is logged with its stack and answered with a
 * generic 500 so that no internals reach the client.
 */
export function buildServer(database: Database, options: ServerOptions = {}): KizunaServer {
  const app = Fastify({
    logger: options.logger ?? false,
    trustProxy: options.trustProxy ?? false,
    bodyLimit: BODY_LIMIT_BYTES,
    // Errors the router raises before any handler runs (malformed URL encoding, an over-long path
    // parameter) would otherwise get Fastify's own error shape.
    frameworkErrors: sendFailure,
  });

  app.setErrorHandler(sendFailure);

  app.setNotFoundHandler((request, reply) => {
    // Any GET outside /api is the staff web app (its files, or index.html for its own paths).
    if (isWebAppRequest(request)) {
      const sent = sendWebApp(request, reply);
      if (sent) return sent;
    }
    const path = request.url.split('?')[0];
    return sendError(reply, 404, errorBody('not_found', `No route ${request.method} ${path}`));
  });

  // No stack traces or framework details leave; security headers on every answer; no CORS headers at
  // all (the web app is served from this origin), so other origins' pages cannot read the API.
  void app.register(helmet, {
    global: true,
    // A shop may run Kizuna on plain HTTP inside its network: asking browsers to upgrade every request
    // to HTTPS would break the web app there. (HSTS is ignored by browsers on plain HTTP.)
    contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } },
  });
  // Per-route limits only (sign-in); the limiter is registered here so every scope sees it.
  void app.register(rateLimit, { global: false });
  const routes: RegisteredRoute[] = [];
  installAccessControl(app, database, routes);
  installWebApp(app);

  const context: ApiContext = { database };
  for (const module of ROUTE_MODULES) {
    void app.register(async (scope) => {
      await module(scope, context);
    });
  }
  return Object.assign(app, { kizunaRoutes: routes });
}
