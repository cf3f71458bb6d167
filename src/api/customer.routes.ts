import { z } from 'zod';
import {
  customerTimeline,
  DEFAULT_TIMELINE_LIMIT,
  findCustomer,
  TIMELINE_KINDS,
} from '../customers/index.ts';
import { KizunaError } from '../errors.ts';
import type { RouteDoc } from './openapi.ts';
import type { RouteModule } from './route-module.ts';
import { parseInput } from './validation.ts';

export const MAX_TIMELINE_LIMIT = 500;

/**
 * A customer in a URL is a numeric id or an external id (letters, digits, `_ . : -`). E-mail addresses
 * are deliberately not accepted here: URLs end up in access logs, e-mail addresses are personal data.
 */
export const CustomerKeyParams = z.object({
  id: z
    .string()
    .max(100)
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]*$/, 'must be a customer id or an external id')
    .refine((id) => !/^0+$/.test(id), 'must be a positive customer id'),
});

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
  app.get('/api/customers/:id/timeline', async (request) => {
    const { id } = parseInput(CustomerKeyParams, request.params);
    const query = parseInput(TimelineQuery, request.query);
    const customerId = await findCustomer(database, id);
    if (customerId === null) {
      throw new KizunaError('customer_not_found', `No customer with id or external id ${id}`, {
        field: 'id',
        status: 404,
      });
    }
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
