import { docsPage, openApiDocument, type RouteDoc } from './openapi.ts';
import { publicRoute } from './policy.ts';
import type { RouteModule } from './route-module.ts';

const VERSION = process.env.npm_package_version ?? '0.1.0';

export const docsRouteDocs: RouteDoc[] = [
  {
    method: 'GET',
    path: '/api/openapi.json',
    tag: 'system',
    summary: 'This API as an OpenAPI 3.1 document.',
    responses: { 200: 'the document' },
  },
  {
    method: 'GET',
    path: '/api/docs',
    tag: 'system',
    summary: 'This API as a readable page.',
    responses: { 200: 'HTML' },
  },
];

/** Serves the documentation of all routes (given by server.ts, which knows them all). */
export function docsRoutes(routes: readonly RouteDoc[]): RouteModule {
  return (app) => {
    const document = openApiDocument(routes, VERSION);
    const page = docsPage(routes, VERSION);
    app.get(
      '/api/openapi.json',
      publicRoute('the documentation of a public interface'),
      async () => document,
    );
    app.get('/api/docs', publicRoute('the documentation of a public interface'), async (_request, reply) =>
      reply.type('text/html; charset=utf-8').send(page),
    );
  };
}
