import type { FastifyInstance } from 'fastify';
import type { Database } from '../db/index.ts';

/** What every route module receives besides the (encapsulated) Fastify scope it registers into. */
export type ApiContext = { database: Database };

/**
 * One module's routes (`<module>.routes.ts`). server.ts registers each in its own Fastify scope, so a
 * module's hooks and decorators stay its own while the error and not-found handlers are shared.
 */
export type RouteModule = (app: FastifyInstance, context: ApiContext) => void | Promise<void>;
