import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { requireCustomerInScope } from '../auth/index.ts';
import { findCustomer } from '../customers/index.ts';
import type { Database } from '../db/index.ts';
import { KizunaError } from '../errors.ts';
import { actorOf } from './policy.ts';
import { parseInput } from './validation.ts';

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

/**
 * The one way a route reaches a customer: resolves `key` (id or external id; a merged-away id leads to
 * the surviving customer), answers 404 when there is none, 403 when the caller's stores do not include
 * the customer, and names the customer in the request's audit entry.
 */
export async function customerForRequest(
  request: FastifyRequest,
  database: Database,
  key: string,
): Promise<number> {
  const customerId = await findCustomer(database, key);
  if (customerId === null) {
    throw new KizunaError('customer_not_found', `No customer with id or external id ${key}`, {
      field: 'id',
      status: 404,
    });
  }
  request.audit.customerId = customerId;
  await requireCustomerInScope(database, actorOf(request), customerId);
  return customerId;
}

/** `customerForRequest` for routes shaped `/api/customers/:id/…`. */
export function customerFromParams(request: FastifyRequest, database: Database): Promise<number> {
  const { id } = parseInput(CustomerKeyParams, request.params);
  return customerForRequest(request, database, id);
}
