import { existsSync, statSync } from 'node:fs';
import { posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** Where `npm run build` puts the staff web app (web/ built by Vite). */
export const WEB_APP_DIR = fileURLToPath(new URL('../../dist/web', import.meta.url));

/** Paths that belong to the API and so never fall back to the web app (their 404 stays JSON). */
const API_PATH = /^\/(api|health)(\/|$)/;

/**
 * The staff web app, served from the same origin as the API (so no CORS, and the session cookie's
 * SameSite=Strict holds). Files are sent by @fastify/static without routes of their own: the server's
 * not-found handler calls `sendWebApp`, so every API route keeps its declared policy, unknown /api paths
 * keep their JSON 404, and every other GET is a file of the app or — for the app's own paths such as
 * /customers/12 — its index.html (the single-page app routes in the browser).
 */
export function installWebApp(app: FastifyInstance, root: string = WEB_APP_DIR): void {
  void app.register(fastifyStatic, { root, serve: false, decorateReply: true });
}

/** Whether the not-found handler should answer this request with the web app. */
export function isWebAppRequest(request: FastifyRequest): boolean {
  if (request.method !== 'GET' && request.method !== 'HEAD') return false;
  return !API_PATH.test(request.url.split('?')[0] ?? '/');
}

function isFile(root: string, relative: string): boolean {
  try {
    return statSync(`${root}/${relative}`).isFile();
  } catch {
    return false;
  }
}

/**
 * Answers with a file of the built app, or its index.html for any other path. Vite's hashed files under
 * /assets/ are cached for a year; index.html is revalidated every time so that a new build shows at once.
 */
export function sendWebApp(
  request: FastifyRequest,
  reply: FastifyReply,
  root: string = WEB_APP_DIR,
): FastifyReply | undefined {
  if (!existsSync(`${root}/index.html`)) {
    return reply
      .status(404)
      .type('text/plain; charset=utf-8')
      .send('The web app is not built: run `npm run build` (npm start does it), then reload.');
  }
  let path: string;
  try {
    path = posix.normalize(decodeURIComponent(request.url.split('?')[0] ?? '/'));
  } catch {
    path = '/';
  }
  const relative = path.replace(/^\/+/, '');
  if (relative !== '' && !relative.split('/').includes('..') && isFile(root, relative)) {
    const immutable = relative.startsWith('assets/');
    return reply.sendFile(relative, root, {
      maxAge: immutable ? 365 * 24 * 3600 * 1000 : 0,
      immutable,
    });
  }
  // A missing asset is a 404, not the app's page (a browser would try to run HTML as a script).
  if (relative.startsWith('assets/')) return undefined;
  reply.header('cache-control', 'no-cache');
  return reply.sendFile('index.html', root, { maxAge: 0 });
}
