import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer, ROUTE_DOCS } from '../src/api/index.ts';
import type { Database } from '../src/db/index.ts';
import { openTestDatabase } from './helpers/database.ts';

describe('the API documentation', () => {
  let database: Database;
  beforeAll(async () => {
    database = await openTestDatabase();
  });
  afterAll(async () => database.close());

  it('documents every registered route, and documents no route that does not exist', async () => {
    const app = buildServer(database);
    const registered: string[] = [];
    app.addHook('onRoute', (route) => {
      for (const method of [route.method].flat())
        if (method !== 'HEAD') registered.push(`${method} ${route.url}`);
    });
    await app.ready();
    const documented = ROUTE_DOCS.map((r) => `${r.method} ${r.path}`);
    expect([...registered].sort()).toEqual([...documented].sort());
    await app.close();
  });

  it('serves an OpenAPI 3.1 document built from the routes’ own schemas, and a readable page', async () => {
    const app = buildServer(database);
    const spec = (await app.inject({ method: 'GET', url: '/api/openapi.json' })).json();
    expect(spec.openapi).toBe('3.1.0');
    const timeline = spec.paths['/api/customers/{id}/timeline'].get;
    expect(timeline.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`)).toEqual([
      'path:id',
      'query:limit',
      'query:before',
      'query:kinds',
    ]);
    expect(timeline.responses['404'].content['application/json'].schema.$ref).toBe(
      '#/components/schemas/Error',
    );
    const page = await app.inject({ method: 'GET', url: '/api/docs' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.body).toContain('/api/customers/:id/timeline');
    await app.close();
  });
});
