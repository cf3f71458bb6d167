import { z } from 'zod';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * The documentation of one route, written next to the route with the same zod schemas it validates
 * with, so the OpenAPI document cannot drift from what the server accepts. A test checks that every
 * registered route has one.
 */
export type RouteDoc = {
  method: HttpMethod;
  /** The Fastify path, with `:param` segments. */
  path: string;
  summary: string;
  description?: string;
  tag: string;
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
  /** Status → what it means. */
  responses: Record<number, string>;
  /** The schema of the success (2xx) answer's JSON, for typed clients; without it the answer is untyped. */
  response?: z.ZodType;
};

type JsonSchema = Record<string, unknown>;

const inputSchema = (schema: z.ZodType): JsonSchema => {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, {
    io: 'input',
    unrepresentable: 'any',
  }) as JsonSchema;
  return rest;
};

const outputSchema = (schema: z.ZodType): JsonSchema => {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, {
    io: 'output',
    unrepresentable: 'any',
  }) as JsonSchema;
  return rest;
};

function parameters(schema: z.ZodObject | undefined, where: 'path' | 'query') {
  if (!schema) return [];
  const json = inputSchema(schema) as { properties?: Record<string, JsonSchema>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, property]) => ({
    name,
    in: where,
    required: where === 'path' || (json.required ?? []).includes(name),
    description: typeof property.description === 'string' ? property.description : undefined,
    schema: property,
  }));
}

const ERROR_SCHEMA = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string' }, message: { type: 'string' }, field: { type: 'string' } },
    },
  },
};

/** The OpenAPI 3.1 document of the given routes. */
export function openApiDocument(routes: readonly RouteDoc[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = route.path.replace(/:([A-Za-z_]+)/g, '{$1}');
    paths[path] ??= {};
    paths[path][route.method.toLowerCase()] = {
      summary: route.summary,
      description: route.description,
      tags: [route.tag],
      parameters: [...parameters(route.params, 'path'), ...parameters(route.query, 'query')],
      requestBody: route.body
        ? { required: true, content: { 'application/json': { schema: inputSchema(route.body) } } }
        : undefined,
      responses: Object.fromEntries(
        Object.entries(route.responses).map(([status, description]) => [
          status,
          Number(status) >= 400
            ? {
                description,
                content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
              }
            : {
                description,
                content: {
                  'application/json': route.response ? { schema: outputSchema(route.response) } : {},
                },
              },
        ]),
      ),
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Kizuna API',
      version,
      description:
        'Kizuna (絆), the relationship-marketing CRM. Every error is `{ "error": { "code", "message", "field"? } }`.',
    },
    paths,
    components: { schemas: { Error: ERROR_SCHEMA } },
  };
}

const escapeHtml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );

function describeSchema(schema: JsonSchema): string {
  const parts: string[] = [];
  if (typeof schema.type === 'string') parts.push(schema.type);
  if (Array.isArray(schema.enum)) parts.push(`one of ${schema.enum.join(', ')}`);
  if (typeof schema.pattern === 'string') parts.push(`pattern ${schema.pattern}`);
  if (typeof schema.maxLength === 'number') parts.push(`≤ ${schema.maxLength} chars`);
  if (typeof schema.format === 'string') parts.push(schema.format);
  return parts.join(', ');
}

/** A readable, self-contained HTML page of the routes (no scripts, nothing fetched from elsewhere). */
export function docsPage(routes: readonly RouteDoc[], version: string): string {
  const tags = [...new Set(routes.map((r) => r.tag))];
  const section = (tag: string) =>
    routes
      .filter((r) => r.tag === tag)
      .map((r) => {
        const params = [...parameters(r.params, 'path'), ...parameters(r.query, 'query')];
        const rows = params
          .map(
            (p) =>
              `<tr><td><code>${escapeHtml(p.name)}</code></td><td>${p.in}${p.required ? ', required' : ''}</td><td>${escapeHtml(describeSchema(p.schema))}</td></tr>`,
          )
          .join('');
        const responses = Object.entries(r.responses)
          .map(([status, text]) => `<li><b>${status}</b> ${escapeHtml(text)}</li>`)
          .join('');
        return `<section><h3><span class="m">${r.method}</span> <code>${escapeHtml(r.path)}</code></h3>
<p>${escapeHtml(r.summary)}</p>${r.description ? `<p>${escapeHtml(r.description)}</p>` : ''}
${rows ? `<table><tr><th>parameter</th><th>in</th><th>schema</th></tr>${rows}</table>` : ''}
<ul>${responses}</ul></section>`;
      })
      .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Kizuna API</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
code{background:#f3f3f3;padding:0 .2em}.m{background:#264;color:#fff;padding:0 .4em;border-radius:3px;font-size:.85em}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.2em .6em;text-align:left}section{margin:1.5rem 0}</style>
</head><body><h1>Kizuna API <small>${escapeHtml(version)}</small></h1>
<p>Every error is <code>{"error": {"code", "message", "field"?}}</code>. The machine-readable document:
<a href="/api/openapi.json">/api/openapi.json</a> (OpenAPI 3.1).</p>
${tags.map((t) => `<h2>${escapeHtml(t)}</h2>\n${section(t)}`).join('\n')}
</body></html>`;
}
