import { z } from 'zod';
import { customerTimeline, DEFAULT_TIMELINE_LIMIT, TIMELINE_KINDS } from '../customers/index.ts';
import { CustomerKeyParams, customerFromParams } from './customer-access.ts';
import type { RouteDoc } from './openapi.ts';
import { allow } from './policy.ts';
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

/** `GET /api/customers/:id/timeline?limit&before&kinds`: the customer's file and events, newest first. */
export const customerRoutes: RouteModule = (app, { database }) => {
  app.get('/api/customers/:id/timeline', allow('customers:read', { personalData: true }), async (request) => {
    const customerId = await customerFromParams(request, database);
    const query = parseInput(TimelineQuery, request.query);
    return customerTimeline(database, customerId, {
      limit: query.limit ?? DEFAULT_TIMELINE_LIMIT,
      before: query.before,
      kinds: query.kinds,
    });
  });
};

export const customerRouteDocs: RouteDoc[] = [
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
