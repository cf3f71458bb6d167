import type { Database } from '../db/index.ts';
import { buildServer, type ServerOptions } from './server.ts';

export type { RouteDoc } from './openapi.ts';
export type { ApiContext, RouteModule } from './route-module.ts';
export { BODY_LIMIT_BYTES, buildServer, type ErrorBody, ROUTE_DOCS, type ServerOptions } from './server.ts';

export type StartOptions = ServerOptions & { port: number; host: string };

/**
 * Builds the server (logging on by default) and starts listening; returns the address it listens on,
 * e.g. "http://127.0.0.1:3000" (port 0 picks a free port). For a graceful shutdown that closes the server
 * too, use buildServer and `listen` directly.
 */
export async function startServer(
  database: Database,
  { port, host, logger = true }: StartOptions,
): Promise<string> {
  return buildServer(database, { logger }).listen({ port, host });
}
