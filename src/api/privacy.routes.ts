import { z } from 'zod';
import { ERASE_REASON_MAX, eraseCustomer, exportCustomer } from '../customers/index.ts';
import { CustomerKeyParams, customerFromParams } from './customer-access.ts';
import type { RouteDoc } from './openapi.ts';
import { actorOf, allow } from './policy.ts';
import type { RouteModule } from './route-module.ts';
import { parseInput } from './validation.ts';

export const EraseBody = z.object({
  confirm: z.literal(true, 'must be true: erasure cannot be undone'),
  reason: z.string().trim().min(1, 'say why the customer is erased').max(ERASE_REASON_MAX),
});

/** The customer's rights: access (export everything held) and erasure (the right to be forgotten). */
export const privacyRoutes: RouteModule = (app, { database }) => {
  app.get(
    '/api/customers/:id/export',
    allow('customers:export', { personalData: true }),
    async (request, reply) => {
      const customerId = await customerFromParams(request, database);
      request.audit.target = `customer:${customerId}`;
      reply.header('content-disposition', `attachment; filename="customer-${customerId}.json"`);
      return exportCustomer(database, customerId);
    },
  );

  app.post('/api/customers/:id/erase', allow('customers:erase'), async (request) => {
    const customerId = await customerFromParams(request, database);
    // Named by internal id: an external id in the URL is a personal identifier that erasure removes.
    request.audit.target = `customer:${customerId}`;
    const { reason } = parseInput(EraseBody, request.body ?? {});
    return { erasure: await eraseCustomer(database, actorOf(request), customerId, reason) };
  });
};

export const privacyRouteDocs: RouteDoc[] = [
  {
    method: 'GET',
    path: '/api/customers/:id/export',
    tag: 'privacy',
    summary:
      'Everything held about one customer as JSON (data-subject access): identity, consent history, orders with lines, returns, communications, interactions, preference notes, measures, lifetime value, merged-away records and the audit entries about them.',
    params: CustomerKeyParams,
    responses: {
      200: 'the export document',
      403: 'not allowed, or not a customer of your stores',
      404: 'no such customer',
    },
  },
  {
    method: 'POST',
    path: '/api/customers/:id/erase',
    tag: 'privacy',
    summary:
      'Erase the customer (right to be forgotten): personal data removed, consents and notes deleted, what they wrote blanked; orders and measures stay as anonymous records. Cannot be undone.',
    description:
      'Body `{confirm: true, reason}`. Owners only. Recorded in the audit log as `customer.erase`.',
    params: CustomerKeyParams,
    body: EraseBody,
    responses: {
      200: '{erasure}',
      400: 'confirm is not true, or no reason',
      403: 'not allowed',
      404: 'no such customer',
      409: 'already erased',
    },
  },
];
