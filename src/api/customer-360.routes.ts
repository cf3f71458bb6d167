import { customer360 } from '../customers/index.ts';
import { TimelineQuery } from './customer.routes.ts';
import { CustomerKeyParams, customerFromParams } from './customer-access.ts';
import type { RouteDoc } from './openapi.ts';
import { actorOf, allow } from './policy.ts';
import type { RouteModule } from './route-module.ts';
import { parseInput } from './validation.ts';

/**
 * The 360 opens with the latest events, a screenful; older ones are paged with `before` (or read in full
 * from `/timeline`). Fewer rows per view also keeps the counter fast when the shop is busy.
 */
export const DEFAULT_360_EVENTS = 25;

/** `GET /api/customers/:id/360`: the customer 360, with the timeline paged like the timeline route. */
export const customer360Routes: RouteModule = (app, { database }) => {
  app.get('/api/customers/:id/360', allow('customers:read', { personalData: true }), async (request) => {
    const customerId = await customerFromParams(request, database);
    const query = parseInput(TimelineQuery, request.query);
    return customer360(database, actorOf(request), customerId, {
      timeline: { limit: query.limit ?? DEFAULT_360_EVENTS, before: query.before, kinds: query.kinds },
    });
  });
};

export const customer360RouteDocs: RouteDoc[] = [
  {
    method: 'GET',
    path: '/api/customers/:id/360',
    tag: 'customers',
    summary:
      'The customer 360: identity and consents, measures (tier, RFM) and lifetime value, purchase summary, timeline, open interactions, follow-up prompts, current preference notes.',
    description:
      "`id` is Kizuna's id or your external id. `limit` (default 25), `before` and `kinds` page the timeline as in `/timeline`. " +
      "Complaint bodies are left out for the roles named in the owner's `hideComplaintTextFrom` setting.",
    params: CustomerKeyParams,
    query: TimelineQuery,
    responses: {
      200: '{customer, measures, lifetime_value, purchases, timeline, open_interactions, follow_ups, due_follow_ups, preference_notes, complaint_text_hidden}',
      400: 'a parameter is invalid (field says which)',
      403: 'the customer is not a customer of your stores',
      404: 'no such customer',
    },
  },
];
