import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../src/api/server.ts';
import { installWebApp, isWebAppRequest, sendWebApp } from '../../src/api/web-app.ts';
import type { Database } from '../../src/db/index.ts';
import { openTestDatabase } from '../helpers/database.ts';

// Serving the built app: files, the SPA fallback, caching, and the API's JSON 404 kept apart.
describe('web app serving', () => {
  const root = mkdtempSync(join(tmpdir(), 'kizuna-web-'));
  mkdirSync(join(root, 'assets'));
  writeFileSync(join(root, 'index.html'), '<!doctype html><title>app</title>');
  writeFileSync(join(root, 'assets', 'index-abc123.js'), 'console.log(1)');
  const app = Fastify();
  installWebApp(app, root);
  app.setNotFoundHandler((request, reply) => {
    if (isWebAppRequest(request)) {
      const sent = sendWebApp(request, reply, root);
      if (sent) return sent;
    }
    return reply.status(404).send({ error: { code: 'not_found', message: 'no route' } });
  });

  it('sends index.html for the app’s own paths, revalidated every time', async () => {
    for (const url of ['/', '/customers/12', '/segments?x=1']) {
      const response = await app.inject({ method: 'GET', url });
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toMatch(/text\/html/);
      expect(response.body).toContain('<title>app</title>');
      expect(response.headers['cache-control']).toMatch(/no-cache|max-age=0/);
    }
  });

  it('sends hashed assets with a year of immutable caching', async () => {
    const response = await app.inject({ method: 'GET', url: '/assets/index-abc123.js' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/javascript/);
    expect(response.headers['cache-control']).toBe('public, max-age=31536000, immutable');
  });

  it('answers a missing asset, an /api path, a POST and a path escaping the root with the 404', async () => {
    for (const [method, url] of [
      ['GET', '/assets/missing.js'],
      ['GET', '/api/nope'],
      ['GET', '/health/x'],
      ['POST', '/customers'],
    ] as const) {
      const response = await app.inject({ method, url });
      expect(response.statusCode, `${method} ${url}`).toBe(404);
      expect(response.json().error.code).toBe('not_found');
    }
    const outside = await app.inject({ method: 'GET', url: '/..%2f..%2fetc%2fpasswd' });
    expect(outside.body).not.toContain('root:');
  });
});

describe('the API server with the web app', () => {
  let database: Database;
  beforeAll(async () => {
    database = await openTestDatabase();
  });
  afterAll(async () => {
    await database.close();
  });

  it('keeps the JSON 404 for unknown /api routes and serves the app (or says to build it) elsewhere', async () => {
    const app = buildServer(database);
    const api = await app.inject({ method: 'GET', url: '/api/nope' });
    expect(api.statusCode).toBe(404);
    expect(api.json()).toEqual({ error: { code: 'not_found', message: 'No route GET /api/nope' } });
    const page = await app.inject({ method: 'GET', url: '/customers/1' });
    expect(page.headers['content-type']).toMatch(/text\/(html|plain)/);
    if (page.statusCode === 200) expect(page.body).toContain('<div id="root">');
    else expect(page.body).toContain('npm run build');
    // The CSP lets the app's own scripts run and nothing inline.
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    await app.close();
  });
});
