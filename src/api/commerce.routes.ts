import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  createOrder,
  createProduct,
  createStore,
  getProduct,
  listCustomerOrders,
  listProducts,
  listStores,
  OrderInput,
  ProductInput,
  ProductPatch,
  parseOrderInput,
  resolveOrderCustomer,
  StoreInput,
  StorePatch,
  updateProduct,
  updateStore,
} from '../commerce/index.ts';
import type { Database } from '../db/index.ts';
import { KizunaError } from '../errors.ts';
import { CustomerKeyParams, customerFromParams } from './customer-access.ts';
import type { RouteDoc } from './openapi.ts';
import { PagingQuery, pagingOf } from './paging.ts';
import { actorOf, allow } from './policy.ts';
import type { RouteModule } from './route-module.ts';
import { parseInput } from './validation.ts';

const id = z
  .string()
  .regex(/^[1-9]\d{0,15}$/, 'must be a positive id')
  .transform(Number);
export const StoreParams = z.object({ storeId: id });
export const ProductParams = z.object({ productId: id });
export const ProductsQuery = PagingQuery.extend({
  q: z.string().max(100).optional().describe('part of the SKU, name or category'),
});

/**
 * `customerForRequest` for an order, whose customer is in the body: 404 when there is none, and the
 * customer named in the audit entry. Unlike every other route it does not require the customer to be
 * one of the caller's stores' already — a customer may buy at any store, so createOrder checks the
 * store of the sale instead.
 */
async function customerForOrder(
  request: FastifyRequest,
  database: Database,
  input: OrderInput,
): Promise<number> {
  const customerId = await resolveOrderCustomer(database, input);
  if (customerId === null) {
    const field = input.customerId !== undefined ? 'customerId' : 'customerExternalId';
    throw new KizunaError(
      'customer_not_found',
      `No customer with ${field} ${input.customerId ?? input.customerExternalId}`,
      { field, status: 404 },
    );
  }
  request.audit.customerId = customerId;
  return customerId;
}

/** Stores, products and orders: the catalog and the POS / e-shop path. */
export const commerceRoutes: RouteModule = (app, { database }) => {
  app.get('/api/stores', allow('catalog:read'), async () => ({ stores: await listStores(database) }));

  app.post('/api/stores', allow('catalog:write'), async (request, reply) => {
    const store = await createStore(database, actorOf(request), parseInput(StoreInput, request.body));
    request.audit.target = `store:${store.id}`;
    reply.status(201);
    return { store };
  });

  app.patch('/api/stores/:storeId', allow('catalog:write'), async (request) => {
    const { storeId } = parseInput(StoreParams, request.params);
    const patch = parseInput(StorePatch, request.body);
    request.audit.detail = { fields: Object.keys(patch) };
    return { store: await updateStore(database, actorOf(request), storeId, patch) };
  });

  app.get('/api/products', allow('catalog:read'), async (request) => {
    const query = parseInput(ProductsQuery, request.query);
    const paging = pagingOf(query);
    return { ...(await listProducts(database, { q: query.q }, paging)), ...paging };
  });

  app.post('/api/products', allow('catalog:write'), async (request, reply) => {
    const product = await createProduct(database, parseInput(ProductInput, request.body));
    request.audit.target = `product:${product.id}`;
    reply.status(201);
    return { product };
  });

  app.get('/api/products/:productId', allow('catalog:read'), async (request) => {
    const { productId } = parseInput(ProductParams, request.params);
    return { product: await getProduct(database, productId) };
  });

  app.patch('/api/products/:productId', allow('catalog:write'), async (request) => {
    const { productId } = parseInput(ProductParams, request.params);
    const patch = parseInput(ProductPatch, request.body);
    request.audit.detail = { fields: Object.keys(patch) };
    return { product: await updateProduct(database, productId, patch) };
  });

  app.post('/api/orders', allow('orders:write'), async (request, reply) => {
    // Not parseInput: an order's refusals name the line ("lines.2.sku"), which parseInput drops.
    const input = parseOrderInput(request.body);
    await customerForOrder(request, database, input);
    const result = await createOrder(database, actorOf(request), input);
    request.audit.target = `order:${result.order.id}`;
    reply.status(result.created ? 201 : 200);
    return result;
  });

  app.get('/api/customers/:id/orders', allow('customers:read', { personalData: true }), async (request) => {
    const customerId = await customerFromParams(request, database);
    const paging = pagingOf(parseInput(PagingQuery, request.query));
    return { ...(await listCustomerOrders(database, customerId, paging)), ...paging };
  });
};

const PAGE =
  'Pages with `limit` (default 50, at most 200) and `offset`; `hasMore` says whether another page exists.';

export const commerceRouteDocs: RouteDoc[] = [
  {
    method: 'GET',
    path: '/api/stores',
    tag: 'catalog',
    summary: 'Every store, by code.',
    responses: { 200: '{stores}' },
  },
  {
    method: 'POST',
    path: '/api/stores',
    tag: 'catalog',
    summary: 'Create a store.',
    description: 'Only an account for every store may create stores.',
    body: StoreInput,
    responses: {
      201: '{store}',
      400: 'a field is invalid (field says which)',
      403: 'not allowed, or the account is limited to some stores',
      409: 'a store with this code exists',
    },
  },
  {
    method: 'PATCH',
    path: '/api/stores/:storeId',
    tag: 'catalog',
    summary: "Change a store's code, name or time zone.",
    params: StoreParams,
    body: StorePatch,
    responses: {
      200: '{store}',
      400: 'a field is invalid',
      403: 'not allowed, or not one of your stores',
      404: 'no such store',
      409: 'a store with this code exists',
    },
  },
  {
    method: 'GET',
    path: '/api/products',
    tag: 'catalog',
    summary: 'Products by SKU, optionally those whose SKU, name or category contains `q`.',
    description: PAGE,
    query: ProductsQuery,
    responses: { 200: '{products, hasMore, limit, offset}', 400: 'a parameter is invalid' },
  },
  {
    method: 'POST',
    path: '/api/products',
    tag: 'catalog',
    summary: 'Create a product.',
    description:
      'Money is an exact decimal ("3000.00"), sent as a string or a number with at most 2 decimals.',
    body: ProductInput,
    responses: { 201: '{product}', 400: 'a field is invalid', 409: 'a product with this SKU exists' },
  },
  {
    method: 'GET',
    path: '/api/products/:productId',
    tag: 'catalog',
    summary: 'One product.',
    params: ProductParams,
    responses: { 200: '{product}', 404: 'no such product' },
  },
  {
    method: 'PATCH',
    path: '/api/products/:productId',
    tag: 'catalog',
    summary: "Change a product's SKU, name, category, price, unit cost or repurchase cycle.",
    params: ProductParams,
    body: ProductPatch,
    responses: {
      200: '{product}',
      400: 'a field is invalid',
      404: 'no such product',
      409: 'a product with this SKU exists',
    },
  },
  {
    method: 'POST',
    path: '/api/orders',
    tag: 'orders',
    summary: 'Record a sale (POS or e-shop), idempotent by externalId.',
    description:
      "Line amounts are quantity × unit price (default: the product's price) and the total their sum, in " +
      'exact decimals. Sending the same externalId again with the same content returns the stored order ' +
      '(200, `created: false`); with different content it is refused (409, `field` names the first ' +
      'difference). An account limited to stores may only record sales at its stores; the customer may ' +
      'be anyone’s, and becomes a customer of that store.',
    body: OrderInput,
    responses: {
      200: '{order, created: false}: this order was already recorded',
      201: '{order, created: true}',
      400: 'a field is invalid, or names an unknown store or product (field says which line, e.g. lines.2.sku)',
      403: 'not allowed, or not one of your stores',
      404: 'no such customer',
      409: 'an order with this externalId and different content exists',
    },
  },
  {
    method: 'GET',
    path: '/api/customers/:id/orders',
    tag: 'customers',
    summary: "A customer's orders with their lines, newest first.",
    description: PAGE,
    params: CustomerKeyParams,
    query: PagingQuery,
    responses: {
      200: '{orders, hasMore, limit, offset}',
      400: 'a parameter is invalid',
      403: 'not a customer of your stores',
      404: 'no such customer',
    },
  },
];
