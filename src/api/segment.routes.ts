import { Readable } from 'node:stream';
import { sql } from 'kysely';
import { z } from 'zod';
import type { Actor } from '../auth/index.ts';
import { customerInStores } from '../auth/index.ts';
import { listStores } from '../commerce/stores.ts';
import type { Database } from '../db/index.ts';
import { KizunaError } from '../errors.ts';
import {
  countSegment,
  describeConditions,
  evaluateSegment,
  explainSegment,
  getSegment,
  listSegments,
  MAX_PREVIEW_LIMIT,
  parseRules,
  previewSegment,
  RFM_GROUPS,
  type RuleNode,
  RuleTreeInput,
  saveSegment,
  segmentCsv,
  segmentHistory,
  snapshotSegment,
  TEMPLATES,
  TIERS,
  templateRules,
} from '../segments/index.ts';
import type { RouteDoc } from './openapi.ts';
import { actorOf, allow } from './policy.ts';
import type { RouteModule } from './route-module.ts';
import { parseInput } from './validation.ts';

const AsOf = z
  .union([z.iso.date(), z.iso.datetime({ offset: true })])
  .describe('the moment "in the last N days" ends at (a date means the end of that day, UTC); default now');

/** A segment given by its rules, or by a template name with parameters. */
const Definition = {
  rules: RuleTreeInput.optional(),
  template: z
    .string()
    .max(100)
    .optional()
    .describe(`one of ${TEMPLATES.map((t) => t.name).join(', ')}`),
  params: z.record(z.string(), z.unknown()).optional().describe('the template’s parameters'),
  asOf: AsOf.optional(),
};
export const SegmentQuery = z.strictObject(Definition);
export const PreviewBody = z.strictObject({
  ...Definition,
  limit: z.number().int().min(1).max(MAX_PREVIEW_LIMIT).optional(),
  after: z.number().int().min(0).optional().describe('nextAfter of the previous page'),
});
export const ExplainBody = z.strictObject({ ...Definition, analyze: z.boolean().optional() });
export const SaveBody = z.strictObject({
  name: z.string().trim().min(1).max(100),
  description: z.string().max(2000).optional(),
  rules: RuleTreeInput.optional(),
  template: Definition.template,
  params: Definition.params,
});
export const SegmentParams = z.object({ id: z.string().regex(/^\d{1,15}$/, 'must be a segment id') });
export const AsOfBody = z.strictObject({ asOf: AsOf.optional() });

/** A date alone is the end of that day (UTC), as the analytics' "as of" days are. */
export function asOfDate(value: string | undefined): Date {
  if (value === undefined) return new Date();
  return /^\d{4}-\d{2}-\d{2}$/.test(value) ? new Date(`${value}T23:59:59.999Z`) : new Date(value);
}

export function definitionRules(input: {
  rules?: Record<string, unknown>;
  template?: string;
  params?: Record<string, unknown>;
}): RuleNode {
  if (input.rules !== undefined && input.template !== undefined) {
    throw new KizunaError('invalid_request', 'give rules or a template, not both', { field: 'template' });
  }
  if (input.rules !== undefined) return parseRules(input.rules, 'rules');
  if (input.template !== undefined) return templateRules(input.template, input.params);
  throw new KizunaError('invalid_request', 'rules: give a rule tree, or a template with params', {
    field: 'rules',
  });
}

async function savedSegment(database: Database, params: unknown) {
  const { id } = parseInput(SegmentParams, params);
  return getSegment(database, Number(id));
}

const ConditionParameterSchema = z.object({
  name: z.string(),
  type: z.string(),
  items: z.string().optional(),
  required: z.boolean(),
  description: z.string().optional(),
  enum: z.array(z.unknown()).optional(),
  minimum: z.number().optional(),
  maximum: z.number().optional(),
  values: z.enum(['categories', 'stores', 'acquisitionSources', 'tags', 'products']).optional(),
});
/** The answer of GET /api/segments/conditions (documentation and typed clients). */
export const ConditionsResponse = z.object({
  conditions: z.array(
    z.object({
      kind: z.string(),
      label: z.string(),
      description: z.string(),
      schema: z.record(z.string(), z.unknown()).describe('JSON Schema of the condition object'),
      parameters: z.array(ConditionParameterSchema),
    }),
  ),
  values: z.object({
    tiers: z.array(z.string()),
    rfmGroups: z.array(z.string()),
    categories: z.array(z.string()),
    stores: z.array(z.object({ id: z.number().int(), code: z.string(), name: z.string() })),
    acquisitionSources: z.array(z.string()),
    tags: z.array(z.object({ tag: z.string(), customers: z.number().int() })),
  }),
});

/** How many of the tags in use the condition registry lists (the most used first). */
export const MAX_LISTED_TAGS = 200;

/**
 * The values a rule builder offers for parameters that are not a fixed enum: the catalog's categories,
 * the stores, and the acquisition sources and tags of the caller's stores' active customers (so a
 * store-scoped caller learns nothing of other stores' customers). Products are searched with
 * GET /api/products?q=.
 */
async function conditionValues(database: Database, actor: Actor) {
  const db = database.db;
  const active = db
    .selectFrom('customers as c')
    .where('c.merged_into_customer_id', 'is', null)
    .where('c.erased_at', 'is', null)
    .where(customerInStores(actor, sql.ref('c.id')));
  const [categories, stores, sources, tags] = await Promise.all([
    db.selectFrom('products').select('category').distinct().orderBy('category').execute(),
    listStores(database),
    active
      .select('c.acquisition_source as source')
      .distinct()
      .where('c.acquisition_source', 'is not', null)
      .orderBy('source')
      .execute(),
    sql<{ tag: string; customers: number }>`
      select t.tag, count(*)::int as customers
      from customers c cross join lateral unnest(c.tags) as t(tag)
      where c.merged_into_customer_id is null and c.erased_at is null and ${customerInStores(actor, sql.ref('c.id'))}
      group by t.tag order by count(*) desc, t.tag limit ${MAX_LISTED_TAGS}`.execute(db),
  ]);
  return {
    tiers: TIERS,
    rfmGroups: RFM_GROUPS,
    categories: categories.map((r) => r.category),
    stores: stores.map(({ id, code, name }) => ({ id, code, name })),
    acquisitionSources: sources.map((r) => r.source as string),
    tags: tags.rows.map((r) => ({ tag: r.tag, customers: r.customers })),
  };
}

/**
 * Segments: count while editing, preview the first members, export them as CSV, save, re-evaluate,
 * snapshot, and the size history. Count, preview and export see only the caller's stores' customers.
 */
export const segmentRoutes: RouteModule = (app, { database }) => {
  app.get('/api/segments/templates', allow('reports:read'), async () => ({
    templates: TEMPLATES.map((t) => ({ name: t.name, description: t.description })),
  }));

  // Every role that may save segments (segments:write) also has customers:read.
  app.get('/api/segments/conditions', allow('customers:read'), async (request) => ({
    conditions: describeConditions(),
    values: await conditionValues(database, actorOf(request)),
  }));

  app.post('/api/segments/count', allow('reports:read'), async (request) => {
    const body = parseInput(SegmentQuery, request.body);
    const scope = { asOf: asOfDate(body.asOf), actor: actorOf(request) };
    return { members: await countSegment(database, definitionRules(body), scope), asOf: scope.asOf };
  });

  app.post('/api/segments/explain', allow('reports:read'), async (request) => {
    const body = parseInput(ExplainBody, request.body);
    const scope = { asOf: asOfDate(body.asOf), actor: actorOf(request) };
    return { plan: await explainSegment(database, definitionRules(body), scope, { analyze: body.analyze }) };
  });

  app.post('/api/segments/preview', allow('reports:read', { personalData: true }), async (request) => {
    const body = parseInput(PreviewBody, request.body);
    const scope = { asOf: asOfDate(body.asOf), actor: actorOf(request) };
    return previewSegment(database, definitionRules(body), scope, { limit: body.limit, after: body.after });
  });

  app.post(
    '/api/segments/export',
    allow('customers:export', { personalData: true }),
    async (request, reply) => {
      const body = parseInput(SegmentQuery, request.body);
      const scope = { asOf: asOfDate(body.asOf), actor: actorOf(request) };
      const rules = definitionRules(body);
      request.audit.target = 'segment export';
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', 'attachment; filename="segment.csv"')
        .send(Readable.from(segmentCsv(database, rules, scope)));
    },
  );

  app.get('/api/segments', allow('reports:read'), async () => ({ segments: await listSegments(database) }));

  app.post('/api/segments', allow('segments:write'), async (request, reply) => {
    const body = parseInput(SaveBody, request.body);
    const segment = await saveSegment(database, actorOf(request), {
      name: body.name,
      description: body.description,
      rules: definitionRules(body),
    });
    request.audit.target = `segment ${segment.id}`;
    return reply.code(201).send(segment);
  });

  app.get('/api/segments/:id', allow('reports:read'), async (request) => {
    const segment = await savedSegment(database, request.params);
    return { ...segment, ...(await segmentHistory(database, segment)) };
  });

  app.post('/api/segments/:id/evaluate', allow('segments:write'), async (request) => {
    const segment = await savedSegment(database, request.params);
    const { asOf } = parseInput(AsOfBody, request.body ?? {});
    return evaluateSegment(database, segment, { asOf: asOfDate(asOf), actor: actorOf(request) });
  });

  app.post('/api/segments/:id/snapshots', allow('segments:write'), async (request, reply) => {
    const segment = await savedSegment(database, request.params);
    const { asOf } = parseInput(AsOfBody, request.body ?? {});
    const snapshot = await snapshotSegment(database, segment, {
      asOf: asOfDate(asOf),
      actor: actorOf(request),
    });
    request.audit.target = `segment snapshot ${snapshot.id}`;
    return reply.code(201).send(snapshot);
  });
};

const REFUSED = 'your role does not allow it';
const INVALID =
  'invalid_rules / invalid_request: the message and field name the node and parameter at fault, e.g. rules.children[2].withinDays';

export const segmentRouteDocs: RouteDoc[] = [
  {
    method: 'GET',
    path: '/api/segments/templates',
    tag: 'segments',
    summary: 'The built-in segment templates (bought A not B, loyal tier, lapsed regulars…).',
    responses: { 200: '{templates: [{name, description}]}', 403: REFUSED },
  },
  {
    method: 'GET',
    path: '/api/segments/conditions',
    tag: 'segments',
    summary: 'The condition kinds a rule tree may use, with their parameters, for a visual rule builder.',
    description:
      'conditions: per kind, its label, description, parameters as JSON Schema (schema) and flattened for a form (parameters: name, type, items, required, enum, minimum, maximum, and values naming the list below to pick from). values: tiers, RFM groups, the catalog’s categories, the stores, and the acquisition sources and tags (most used first, at most 200) of your stores’ customers; products are searched with GET /api/products?q=.',
    responses: {
      200: '{conditions: [{kind, label, description, schema, parameters}], values}',
      403: REFUSED,
    },
    response: ConditionsResponse,
  },
  {
    method: 'POST',
    path: '/api/segments/count',
    tag: 'segments',
    summary: 'How many customers a rule tree (or template) selects: instant feedback while editing.',
    description: 'Only customers of your stores; merged-away and erased customers never count.',
    body: SegmentQuery,
    responses: { 200: '{members, asOf}', 400: INVALID, 403: REFUSED },
  },
  {
    method: 'POST',
    path: '/api/segments/explain',
    tag: 'segments',
    summary: 'The database plan of the count query (with analyze: run, with times), for a slow segment.',
    body: ExplainBody,
    responses: { 200: '{plan}', 400: INVALID, 403: REFUSED },
  },
  {
    method: 'POST',
    path: '/api/segments/preview',
    tag: 'segments',
    summary: 'The first members, by customer id, with tier, RFM cell, orders, spend, last purchase, CLV.',
    body: PreviewBody,
    responses: { 200: '{customers, nextAfter}', 400: INVALID, 403: REFUSED },
  },
  {
    method: 'POST',
    path: '/api/segments/export',
    tag: 'segments',
    summary: 'Every member as CSV: contact details and key measures (personal data).',
    body: SegmentQuery,
    responses: { 200: 'text/csv', 400: INVALID, 403: REFUSED },
  },
  {
    method: 'GET',
    path: '/api/segments',
    tag: 'segments',
    summary: 'The saved segments, by name.',
    responses: { 200: '{segments}', 403: REFUSED },
  },
  {
    method: 'POST',
    path: '/api/segments',
    tag: 'segments',
    summary: 'Save a segment under a name (saving a name again replaces its rules and description).',
    body: SaveBody,
    responses: { 201: 'the saved segment', 400: INVALID, 403: REFUSED },
  },
  {
    method: 'GET',
    path: '/api/segments/:id',
    tag: 'segments',
    summary: 'A saved segment with its sizes over time and its snapshots.',
    params: SegmentParams,
    responses: { 200: '{…segment, sizes, snapshots}', 403: REFUSED, 404: 'no such segment' },
  },
  {
    method: 'POST',
    path: '/api/segments/:id/evaluate',
    tag: 'segments',
    summary: 'Count a saved segment now (or as of a moment) and record the size in its history.',
    params: SegmentParams,
    body: AsOfBody,
    responses: { 200: '{members, asOf}', 403: REFUSED, 404: 'no such segment' },
  },
  {
    method: 'POST',
    path: '/api/segments/:id/snapshots',
    tag: 'segments',
    summary: 'Freeze the members of a saved segment at a moment (campaigns send to a snapshot).',
    params: SegmentParams,
    body: AsOfBody,
    responses: { 201: 'the snapshot: {id, members, asOf…}', 403: REFUSED, 404: 'no such segment' },
  },
];
