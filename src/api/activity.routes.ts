import { z } from 'zod';
import {
  createInteraction,
  INTERACTION_KINDS,
  INTERACTION_STATUSES,
  InteractionInput,
  InteractionPatch,
  listCustomerInteractions,
  updateInteraction,
} from '../service/index.ts';
import { listCustomerTouches, recordTouch, TOUCH_CHANNELS, TouchInput } from '../touches/index.ts';
import { CustomerKeyParams, customerFromParams } from './customer-access.ts';
import type { RouteDoc } from './openapi.ts';
import { PagingQuery, pagingOf } from './paging.ts';
import { actorOf, allow } from './policy.ts';
import type { RouteModule } from './route-module.ts';
import { parseInput } from './validation.ts';

export const TouchesQuery = PagingQuery.extend({
  channel: z.enum(TOUCH_CHANNELS).optional(),
  campaign: z.string().max(200).optional(),
});

export const InteractionsQuery = PagingQuery.extend({
  status: z.enum(INTERACTION_STATUSES).optional(),
  kind: z.enum(INTERACTION_KINDS).optional(),
});

export const InteractionParams = CustomerKeyParams.extend({
  interactionId: z
    .string()
    .regex(/^[1-9]\d{0,15}$/, 'must be a positive id')
    .transform(Number),
});

/** A customer's touches (what we sent) and interactions (what they told us). */
export const activityRoutes: RouteModule = (app, { database }) => {
  app.get('/api/customers/:id/touches', allow('customers:read', { personalData: true }), async (request) => {
    const customerId = await customerFromParams(request, database);
    const query = parseInput(TouchesQuery, request.query);
    const paging = pagingOf(query);
    const filter = { channel: query.channel, campaign: query.campaign };
    return { ...(await listCustomerTouches(database, customerId, filter, paging)), ...paging };
  });

  app.post('/api/customers/:id/touches', allow('touches:write'), async (request, reply) => {
    const customerId = await customerFromParams(request, database);
    const result = await recordTouch(database, customerId, parseInput(TouchInput, request.body));
    request.audit.target = `touch:${result.touch.id}`;
    reply.status(result.created ? 201 : 200);
    return result;
  });

  app.get(
    '/api/customers/:id/interactions',
    allow('customers:read', { personalData: true }),
    async (request) => {
      const customerId = await customerFromParams(request, database);
      const query = parseInput(InteractionsQuery, request.query);
      const paging = pagingOf(query);
      const filter = { status: query.status, kind: query.kind };
      return {
        ...(await listCustomerInteractions(database, actorOf(request), customerId, filter, paging)),
        ...paging,
      };
    },
  );

  app.post('/api/customers/:id/interactions', allow('interactions:write'), async (request, reply) => {
    const customerId = await customerFromParams(request, database);
    const input = parseInput(InteractionInput, request.body);
    const result = await createInteraction(database, actorOf(request), customerId, input);
    request.audit.target = `interaction:${result.interaction.id}`;
    reply.status(result.created ? 201 : 200);
    return result;
  });

  app.patch(
    '/api/customers/:id/interactions/:interactionId',
    allow('interactions:write'),
    async (request) => {
      const customerId = await customerFromParams(request, database);
      const { interactionId } = parseInput(InteractionParams, request.params);
      const patch = parseInput(InteractionPatch, request.body);
      request.audit.detail = { fields: Object.keys(patch) };
      return {
        interaction: await updateInteraction(database, actorOf(request), customerId, interactionId, patch),
      };
    },
  );
};

const PAGE =
  'Newest first. Pages with `limit` (default 50, at most 200) and `offset`; `hasMore` says whether another page exists.';

const CUSTOMER_ERRORS = { 403: 'not allowed, or not a customer of your stores', 404: 'no such customer' };

export const activityRouteDocs: RouteDoc[] = [
  {
    method: 'GET',
    path: '/api/customers/:id/touches',
    tag: 'customers',
    summary: 'The messages we sent a customer (mail, DM, newsletters, calls…).',
    description: PAGE,
    params: CustomerKeyParams,
    query: TouchesQuery,
    responses: {
      200: '{touches, hasMore, limit, offset}',
      400: 'a parameter is invalid',
      ...CUSTOMER_ERRORS,
    },
  },
  {
    method: 'POST',
    path: '/api/customers/:id/touches',
    tag: 'customers',
    summary: 'Record a message sent to a customer, idempotent by externalId.',
    description:
      'The same externalId again with the same content returns the stored touch (200, `created: false`); ' +
      'with different content it is refused (409).',
    params: CustomerKeyParams,
    body: TouchInput,
    responses: {
      200: '{touch, created: false}',
      201: '{touch, created: true}',
      400: 'a field is invalid',
      ...CUSTOMER_ERRORS,
      409: 'a touch with this externalId and different content exists',
    },
  },
  {
    method: 'GET',
    path: '/api/customers/:id/interactions',
    tag: 'customers',
    summary: 'What a customer told us (inquiries, requests, complaints…), optionally by status or kind.',
    description: `${PAGE} Roles the owner's settings exclude (marketers by default) get complaints without their text: \`body: null, bodyRedacted: true\`.`,
    params: CustomerKeyParams,
    query: InteractionsQuery,
    responses: {
      200: '{interactions, hasMore, limit, offset}',
      400: 'a parameter is invalid',
      ...CUSTOMER_ERRORS,
    },
  },
  {
    method: 'POST',
    path: '/api/customers/:id/interactions',
    tag: 'customers',
    summary: 'Record an inquiry, request, complaint, suggestion or call, idempotent by externalId.',
    description:
      'storeId must be one of your stores. Created resolved or closed, it is stamped resolvedAt now.',
    params: CustomerKeyParams,
    body: InteractionInput,
    responses: {
      200: '{interaction, created: false}',
      201: '{interaction, created: true}',
      400: 'a field is invalid, or names an unknown store or staff member',
      ...CUSTOMER_ERRORS,
      409: 'an interaction with this externalId and different content exists',
    },
  },
  {
    method: 'PATCH',
    path: '/api/customers/:id/interactions/:interactionId',
    tag: 'customers',
    summary: 'Move an interaction on: status, owner, first response, resolution.',
    description: 'Becoming resolved or closed stamps resolvedAt (now) unless given; reopening clears it.',
    params: InteractionParams,
    body: InteractionPatch,
    responses: {
      200: '{interaction}',
      400: 'a field is invalid',
      403: 'not allowed, or not a customer of your stores',
      404: 'no such customer or interaction',
    },
  },
];
