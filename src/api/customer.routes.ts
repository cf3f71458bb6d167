import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { canReadComplaintText } from '../auth/index.ts';
import {
  actorSource,
  ConsentChange,
  CustomerPatch,
  createCustomer,
  customerIdWithoutRedirect,
  customerTimeline,
  DEFAULT_DUPLICATE_LIMIT,
  DEFAULT_SEARCH_LIMIT,
  DEFAULT_TIMELINE_LIMIT,
  findDuplicateCandidates,
  getCustomer,
  MAX_DUPLICATE_LIMIT,
  MAX_SEARCH_LIMIT,
  mergeCustomers,
  NewCustomer,
  previewMerge,
  recordConsent,
  redactTimelineEvents,
  searchCustomers,
  TIMELINE_KINDS,
  updateCustomer,
} from '../customers/index.ts';
import type { Database } from '../db/index.ts';
import { CustomerKeyParams, customerForRequest, customerFromParams } from './customer-access.ts';
import type { RouteDoc } from './openapi.ts';
import { actorOf, allow } from './policy.ts';
import type { RouteModule } from './route-module.ts';
import { parseInput } from './validation.ts';

export const MAX_TIMELINE_LIMIT = 500;

export const TimelineQuery = z.object({
  limit: z
    .string()
    .regex(/^\d+$/, `must be an integer from 1 to ${MAX_TIMELINE_LIMIT}`)
    .transform(Number)
    .pipe(z.number().int().min(1).max(MAX_TIMELINE_LIMIT))
    .optional(),
  before: z.iso
    .datetime({
      offset: true,
      message: 'must be an ISO 8601 date-time with a time zone, e.g. 2024-05-01T00:00:00Z',
    })
    .transform((value) => new Date(value))
    .optional(),
  kinds: z
    .string()
    .transform((value) => [...new Set(value.split(',').map((kind) => kind.trim()))])
    .pipe(z.array(z.enum(TIMELINE_KINDS)).min(1))
    .optional(),
});

const integer = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, `must be an integer from ${min} to ${max}`)
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

export const CustomerSearchQuery = z.object({
  q: z
    .string()
    .max(200)
    .optional()
    .describe('name, kana, e-mail (or its beginning), phone, id or external id'),
  tag: z.string().trim().min(1).max(50).optional(),
  storeId: integer(1, Number.MAX_SAFE_INTEGER).optional().describe('only customers of this store'),
  limit: integer(1, MAX_SEARCH_LIMIT).optional().describe(`default ${DEFAULT_SEARCH_LIMIT}`),
  cursor: z.string().max(100).optional().describe('nextCursor of the previous page'),
});

export const DuplicatesQuery = z.object({
  limit: integer(1, MAX_DUPLICATE_LIMIT).optional().describe(`default ${DEFAULT_DUPLICATE_LIMIT}`),
});

const otherCustomer = CustomerKeyParams.shape.id;
export const MergePreviewQuery = z.object({
  other: otherCustomer.describe('the customer that would be merged away'),
});
export const MergeBody = z.strictObject({
  other: z
    .union([z.string(), z.number().int().positive()])
    .transform(String)
    .pipe(otherCustomer)
    .describe('the customer merged away (id or external id)'),
});

/**
 * The two customers of a merge, both resolved like any customer in a URL (404, store scope) — but one
 * already merged away is named as itself, so that the merge is refused instead of applied to whichever
 * customer it was merged into.
 */
async function mergePair(
  request: FastifyRequest,
  database: Database,
  otherKey: string,
): Promise<{ survivorId: number; mergedId: number }> {
  const survivorId = await customerFromParams(request, database);
  const { id: survivorKey } = parseInput(CustomerKeyParams, request.params);
  const mergedId = await customerForRequest(request, database, otherKey);
  request.audit.customerId = survivorId;
  request.audit.detail = { merged_customer_id: mergedId };
  return {
    survivorId: (await customerIdWithoutRedirect(database, survivorKey)) ?? survivorId,
    mergedId: (await customerIdWithoutRedirect(database, otherKey)) ?? mergedId,
  };
}

/**
 * Customers: create, search, read, change, consents, duplicates and merging; and one customer's timeline
 * (`GET /api/customers/:id/timeline?limit&before&kinds`: the customer's file and events, newest first).
 */
export const customerRoutes: RouteModule = (app, { database }) => {
  app.post('/api/customers', allow('customers:write'), async (request, reply) => {
    const input = parseInput(NewCustomer, request.body);
    const actor = actorOf(request);
    const customer = await createCustomer(database, actor, input, actorSource(actor));
    request.audit.customerId = customer.id;
    return reply.code(201).send(customer);
  });

  app.get('/api/customers', allow('customers:read', { personalData: true }), async (request) => {
    const query = parseInput(CustomerSearchQuery, request.query);
    return searchCustomers(database, actorOf(request), query);
  });

  // A static path: Fastify's router prefers it over /api/customers/:id whatever the registration order.
  app.get('/api/customers/duplicates', allow('customers:merge', { personalData: true }), async (request) => {
    const { limit } = parseInput(DuplicatesQuery, request.query);
    return { candidates: await findDuplicateCandidates(database, actorOf(request), limit) };
  });

  app.get('/api/customers/:id', allow('customers:read', { personalData: true }), async (request) => {
    const customerId = await customerFromParams(request, database);
    return getCustomer(database, customerId);
  });

  app.patch('/api/customers/:id', allow('customers:write'), async (request) => {
    const customerId = await customerFromParams(request, database);
    const patch = parseInput(CustomerPatch, request.body);
    return updateCustomer(database, actorOf(request), customerId, patch);
  });

  app.post('/api/customers/:id/consents', allow('customers:write'), async (request, reply) => {
    const customerId = await customerFromParams(request, database);
    const change = parseInput(ConsentChange, request.body);
    const recordedBy = actorSource(actorOf(request));
    const source = change.source === undefined ? recordedBy : `${change.source} (${recordedBy})`;
    const consent = await recordConsent(database, customerId, change.channel, change.granted, source);
    const { consents } = await getCustomer(database, customerId);
    return reply.code(201).send({ consent, consents });
  });

  app.get(
    '/api/customers/:id/merge-preview',
    allow('customers:merge', { personalData: true }),
    async (request) => {
      const { other } = parseInput(MergePreviewQuery, request.query);
      const { survivorId, mergedId } = await mergePair(request, database, other);
      return previewMerge(database, survivorId, mergedId);
    },
  );

  app.post('/api/customers/:id/merge', allow('customers:merge'), async (request) => {
    const { other } = parseInput(MergeBody, request.body);
    const { survivorId, mergedId } = await mergePair(request, database, other);
    const done = await mergeCustomers(database, survivorId, mergedId);
    return { ...done, customer: await getCustomer(database, survivorId) };
  });

  app.get('/api/customers/:id/timeline', allow('customers:read', { personalData: true }), async (request) => {
    const customerId = await customerFromParams(request, database);
    const query = parseInput(TimelineQuery, request.query);
    const [timeline, canRead] = await Promise.all([
      customerTimeline(database, customerId, {
        limit: query.limit ?? DEFAULT_TIMELINE_LIMIT,
        before: query.before,
        kinds: query.kinds,
      }),
      canReadComplaintText(database, actorOf(request).role),
    ]);
    return { ...timeline, events: redactTimelineEvents(timeline.events, canRead) };
  });
};

const REFUSED = 'your role or your stores do not allow it';

export const customerRouteDocs: RouteDoc[] = [
  {
    method: 'POST',
    path: '/api/customers',
    tag: 'customers',
    summary: 'Create a customer, with the consents they gave (each recorded with time and source).',
    description:
      'A caller limited to stores gets their first store as home store unless they name one of theirs.',
    body: NewCustomer,
    responses: {
      201: 'the customer record',
      400: 'a field is invalid or refers to an unknown store, staff member or customer (field says which)',
      403: REFUSED,
      409: 'external_id_taken: another customer has this external id',
    },
  },
  {
    method: 'GET',
    path: '/api/customers',
    tag: 'customers',
    summary: 'Search customers by name, kana, e-mail, phone, id or external id, and by tag; newest first.',
    description:
      'Names match from their beginning or from the given name, with or without spaces, in any case, hiragana or katakana; phones by their digits. Only customers of your stores; merged-away and erased customers are not listed. Page with `cursor`.',
    query: CustomerSearchQuery,
    responses: {
      200: '{customers, nextCursor}',
      400: 'a parameter is invalid (field says which)',
      403: REFUSED,
    },
  },
  {
    method: 'GET',
    path: '/api/customers/duplicates',
    tag: 'customers',
    summary:
      'Pairs of customers that may be one person: same e-mail, same phone digits, or same name and kana.',
    query: DuplicatesQuery,
    responses: { 200: '{candidates: [{customers, reasons}]}', 400: 'limit is invalid', 403: REFUSED },
  },
  {
    method: 'GET',
    path: '/api/customers/:id',
    tag: 'customers',
    summary:
      "One customer's record: identity, tags, custom fields, home store, account owner, source, referrer, consents in force.",
    description:
      "`id` is Kizuna's id or your external id; a merged-away customer's id answers with the survivor.",
    params: CustomerKeyParams,
    responses: { 200: 'the customer record', 403: REFUSED, 404: 'no such customer' },
  },
  {
    method: 'PATCH',
    path: '/api/customers/:id',
    tag: 'customers',
    summary:
      'Change some fields of a customer; null clears a field, custom fields are merged (null removes one).',
    params: CustomerKeyParams,
    body: CustomerPatch,
    responses: {
      200: 'the customer record',
      400: 'a field is invalid (field says which)',
      403: REFUSED,
      404: 'no such customer',
      409: 'the customer is erased, or the external id is taken',
    },
  },
  {
    method: 'POST',
    path: '/api/customers/:id/consents',
    tag: 'customers',
    summary: "Record a consent change for one channel; it is added to the customer's consent history.",
    description:
      'The source recorded is the `source` given (e.g. "web form") followed by who recorded it (`api:staff:12`).',
    params: CustomerKeyParams,
    body: ConsentChange,
    responses: {
      201: '{consent, consents}: the recorded change and the consents now in force',
      400: 'the change is invalid',
      403: REFUSED,
      404: 'no such customer',
      409: 'the customer is erased',
    },
  },
  {
    method: 'GET',
    path: '/api/customers/:id/merge-preview',
    tag: 'customers',
    summary: 'What merging `other` into this customer would do: rows moved per table, field by field result.',
    params: CustomerKeyParams,
    query: MergePreviewQuery,
    responses: {
      200: '{survivor_id, merged_id, moves, recomputed, fields}',
      403: REFUSED,
      404: 'no such customer',
      409: 'merge_refused: the same customer, or one already merged or erased (message says why)',
    },
  },
  {
    method: 'POST',
    path: '/api/customers/:id/merge',
    tag: 'customers',
    summary:
      'Merge `other` into this customer in one transaction; `other` remains as a stub that redirects here.',
    description:
      "Everything moves: orders with lines and returns, touches, interactions, preference notes, consents, referrals. The merged customer's measures, lifetime value and tier snapshots are deleted; the next analytics refresh recomputes the survivor's.",
    params: CustomerKeyParams,
    body: MergeBody,
    responses: {
      200: '{survivor_id, merged_id, moves, recomputed, fields, customer}',
      403: REFUSED,
      404: 'no such customer',
      409: 'merge_refused: the same customer, or one already merged or erased (message says why)',
    },
  },
  {
    method: 'GET',
    path: '/api/customers/:id/timeline',
    tag: 'customers',
    summary:
      "One customer's file and events — purchases, returns, communications, interactions, preference notes — newest first.",
    description:
      "`id` is Kizuna's id or your external id. Page back with `before` (the `at` of the last event seen).",
    params: CustomerKeyParams,
    query: TimelineQuery,
    responses: {
      200: '{customer, events, has_more}',
      400: 'a parameter is invalid (field says which)',
      404: 'no such customer',
    },
  },
];
