import { sql } from 'kysely';
import { schemaVersion } from '../db/index.ts';
import type { RouteDoc } from './openapi.ts';
import { publicRoute } from './policy.ts';
import type { RouteModule } from './route-module.ts';

export type Health = {
  status: 'ok' | 'unavailable';
  engine: string;
  schemaVersion: string | null;
  database: 'reachable' | 'unreachable';
};

// A hung database must not hang the probe: a load balancer needs an answer in time to act on it.
const HEALTH_TIMEOUT_MS = 2000;

async function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** `GET /health`: 200 when the database answers, 503 otherwise (the cause is logged, not returned). */
export const healthRoutes: RouteModule = (app, { database }) => {
  app.get(
    '/health',
    publicRoute('probes of load balancers and monitors; reveals no data'),
    async (request, reply): Promise<Health> => {
      try {
        const version = await withTimeout(
          (async () => {
            await sql`select 1`.execute(database.db);
            return schemaVersion(database);
          })(),
          HEALTH_TIMEOUT_MS,
        );
        return { status: 'ok', engine: database.engine, schemaVersion: version, database: 'reachable' };
      } catch (error) {
        request.log.error({ err: error }, 'health check: database unreachable');
        reply.status(503);
        return {
          status: 'unavailable',
          engine: database.engine,
          schemaVersion: null,
          database: 'unreachable',
        };
      }
    },
  );
};

export const healthRouteDocs: RouteDoc[] = [
  {
    method: 'GET',
    path: '/health',
    tag: 'system',
    summary: 'Whether the database answers, which engine it is and the schema version.',
    responses: {
      200: '{status: "ok", engine, schemaVersion, database: "reachable"}',
      503: 'the database does not answer',
    },
  },
];
