import { z } from 'zod';
import { type Actor, ForbiddenError } from '../auth/index.ts';
import { findCustomer } from '../customers/index.ts';
import type { Database } from '../db/index.ts';
import { KizunaError } from '../errors.ts';
import { requireNotErased } from './customer-state.ts';
import { fromCents, MAX_CENTS, MoneyInput, normalizeMoney, toCents } from './money.ts';
import { DEFAULT_PAGING, type Paging, pageOf } from './paging.ts';
import { Sku } from './products.ts';
import { StoreCode } from './stores.ts';
import { validateWithPath } from './validate.ts';

export const DEFAULT_CURRENCY = 'JPY';
export const MAX_ORDER_LINES = 500;

export const OrderLineInput = z
  .object({
    productId: z.number().int().positive().optional(),
    sku: Sku.optional(),
    quantity: z.number().int().min(1).max(1_000_000),
    unitPrice: MoneyInput.optional().describe("default: the product's current price"),
  })
  .superRefine((line, ctx) => {
    if ((line.productId === undefined) === (line.sku === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['sku'], message: 'give either productId or sku' });
    }
  });

export const OrderInput = z
  .object({
    externalId: z.string().trim().min(1).max(100).describe('your order number; the idempotency key'),
    customerId: z.number().int().positive().optional(),
    customerExternalId: z.string().trim().min(1).max(100).optional(),
    storeId: z.number().int().positive().optional(),
    storeCode: StoreCode.optional(),
    orderedAt: z.iso
      .datetime({ offset: true, message: 'must be an ISO 8601 date-time with a time zone' })
      .transform((value) => new Date(value))
      .optional()
      .describe('default: now'),
    currency: z
      .string()
      .regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as JPY')
      .optional()
      .describe(`default ${DEFAULT_CURRENCY}`),
    lines: z.array(OrderLineInput).min(1).max(MAX_ORDER_LINES),
  })
  .superRefine((order, ctx) => {
    if ((order.customerId === undefined) === (order.customerExternalId === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['customerId'],
        message: 'give either customerId or customerExternalId',
      });
    }
    if (order.storeId !== undefined && order.storeCode !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['storeCode'],
        message: 'give either storeId or storeCode, not both',
      });
    }
  });
export type OrderInput = z.output<typeof OrderInput>;

/** Parses an order as sent to the API; a refused field names its line ("lines.2.quantity"). */
export function parseOrderInput(input: unknown): OrderInput {
  return validateWithPath(OrderInput, input);
}

export type StoreRef = { id: number; code: string; name: string };

export type OrderLine = {
  lineNo: number;
  productId: number;
  sku: string;
  productName: string;
  quantity: number;
  /** Exact decimal strings ("3000.00"). */
  unitPrice: string;
  amount: string;
};

export type Order = {
  id: number;
  externalId: string;
  customerId: number;
  store: StoreRef | null;
  orderedAt: Date;
  currency: string;
  total: string;
  createdAt: Date;
  lines: OrderLine[];
};

export type OrderResult = { order: Order; created: boolean };

const invalid = (code: string, message: string, field: string, status = 400) =>
  new KizunaError(code, message, { field, status });

/**
 * The customer an order names: by Kizuna id or by external id (never by e-mail, unlike the customer
 * search), following merges to the surviving customer. Null when there is none.
 */
export async function resolveOrderCustomer(
  database: Database,
  input: Pick<OrderInput, 'customerId' | 'customerExternalId'>,
): Promise<number | null> {
  const row = await database.db
    .selectFrom('customers')
    .select('id')
    .where((eb) =>
      input.customerId !== undefined
        ? eb('id', '=', input.customerId)
        : eb('external_id', '=', input.customerExternalId ?? ''),
    )
    .executeTakeFirst();
  // findCustomer prefers an exact id match and walks merged_into_customer_id to the survivor.
  return row ? findCustomer(database, String(row.id)) : null;
}

async function resolveStore(database: Database, input: OrderInput): Promise<StoreRef | null> {
  if (input.storeId === undefined && input.storeCode === undefined) return null;
  const store = await database.db
    .selectFrom('stores')
    .select(['id', 'code', 'name'])
    .where((eb) =>
      input.storeId !== undefined ? eb('id', '=', input.storeId) : eb('code', '=', input.storeCode ?? ''),
    )
    .executeTakeFirst();
  if (!store) {
    const field = input.storeId !== undefined ? 'storeId' : 'storeCode';
    throw invalid('unknown_store', `${field}: no store ${input.storeId ?? input.storeCode}`, field);
  }
  return store;
}

type PricedLine = { lineNo: number; productId: number; quantity: number; unitPrice: string; amount: string };

/** Each line's product and price; amount = quantity × unit price and the total, in exact cents. */
async function priceLines(
  database: Database,
  input: OrderInput,
): Promise<{ lines: PricedLine[]; total: string }> {
  const ids = input.lines.flatMap((line) => (line.productId === undefined ? [] : [line.productId]));
  const skus = input.lines.flatMap((line) => (line.sku === undefined ? [] : [line.sku]));
  const products = await database.db
    .selectFrom('products')
    .select(['id', 'sku', 'price'])
    .where((eb) =>
      eb.or([
        ...(ids.length > 0 ? [eb('id', 'in', ids)] : []),
        ...(skus.length > 0 ? [eb('sku', 'in', skus)] : []),
      ]),
    )
    .execute();
  const byId = new Map(products.map((p) => [p.id, p]));
  const bySku = new Map(products.map((p) => [p.sku, p]));
  let total = 0n;
  const lines = input.lines.map((line, index) => {
    const product = line.productId !== undefined ? byId.get(line.productId) : bySku.get(line.sku ?? '');
    if (!product) {
      const field = line.productId !== undefined ? `lines.${index}.productId` : `lines.${index}.sku`;
      throw invalid('unknown_product', `${field}: no product ${line.productId ?? line.sku}`, field);
    }
    const unitPrice = normalizeMoney(line.unitPrice ?? product.price);
    const amount = toCents(unitPrice) * BigInt(line.quantity);
    if (amount > MAX_CENTS) {
      const field = `lines.${index}.quantity`;
      throw invalid('amount_too_large', `${field}: the line amount exceeds ${fromCents(MAX_CENTS)}`, field);
    }
    total += amount;
    return {
      lineNo: index + 1,
      productId: product.id,
      quantity: line.quantity,
      unitPrice,
      amount: fromCents(amount),
    };
  });
  if (total > MAX_CENTS)
    throw invalid('amount_too_large', `lines: the total exceeds ${fromCents(MAX_CENTS)}`, 'lines');
  return { lines, total: fromCents(total) };
}

/** Where a replayed order differs from the one stored, in the request's own field names. */
async function differences(
  database: Database,
  input: OrderInput,
  customerId: number,
  store: StoreRef | null,
  existing: Order,
): Promise<string[]> {
  const found: string[] = [];
  if (existing.customerId !== customerId) {
    // The order may name a customer that has since been merged into the one the request resolves to.
    const survivor = await findCustomer(database, String(existing.customerId));
    if (survivor !== customerId)
      found.push(input.customerId !== undefined ? 'customerId' : 'customerExternalId');
  }
  if ((existing.store?.id ?? null) !== (store?.id ?? null)) {
    found.push(input.storeCode !== undefined ? 'storeCode' : 'storeId');
  }
  // A default ("now", the product's price today) is not something the caller said, so a replay that
  // leaves them out matches whatever the first request stored.
  if (input.orderedAt !== undefined && input.orderedAt.getTime() !== existing.orderedAt.getTime()) {
    found.push('orderedAt');
  }
  if ((input.currency ?? DEFAULT_CURRENCY) !== existing.currency) found.push('currency');
  if (input.lines.length !== existing.lines.length) {
    found.push('lines');
    return found;
  }
  const products = await database.db
    .selectFrom('products')
    .select(['id', 'sku'])
    .where(
      'id',
      'in',
      existing.lines.map((line) => line.productId),
    )
    .execute();
  const skuOf = new Map(products.map((p) => [p.id, p.sku]));
  input.lines.forEach((line, index) => {
    const stored = existing.lines[index]!;
    if (
      line.productId !== undefined
        ? line.productId !== stored.productId
        : line.sku !== skuOf.get(stored.productId)
    ) {
      found.push(`lines.${index}.${line.productId !== undefined ? 'productId' : 'sku'}`);
    }
    if (line.quantity !== stored.quantity) found.push(`lines.${index}.quantity`);
    if (line.unitPrice !== undefined && normalizeMoney(line.unitPrice) !== stored.unitPrice) {
      found.push(`lines.${index}.unitPrice`);
    }
  });
  return found;
}

/**
 * Records a sale from a till or an e-shop, in one transaction. Idempotent by `externalId`: sending the
 * same order again returns the stored one (`created: false`), so a till that lost the answer can retry;
 * the same external id with different content is refused (409 `order_conflict`, naming the fields).
 */
export async function createOrder(database: Database, actor: Actor, input: OrderInput): Promise<OrderResult> {
  const store = await resolveStore(database, input);
  // Store scope applies to the store of the sale, not to the customer: a customer may buy at any store,
  // and a store's till must be able to sell to someone first seen elsewhere. Once recorded, the order
  // itself makes them a customer of this store (customerInStores counts stores where they bought).
  if (actor.storeIds !== null) {
    if (store === null) {
      throw invalid(
        'store_required',
        'storeId: an account limited to stores must name the store of the sale',
        'storeId',
      );
    }
    if (!actor.storeIds.includes(store.id)) {
      throw new ForbiddenError(`Store ${store.code} is not one of your stores`, 'store_out_of_scope');
    }
  }
  const customerId = await resolveOrderCustomer(database, input);
  if (customerId === null) {
    const field = input.customerId !== undefined ? 'customerId' : 'customerExternalId';
    throw invalid(
      'customer_not_found',
      `${field}: no customer ${input.customerId ?? input.customerExternalId}`,
      field,
      404,
    );
  }
  await requireNotErased(database, customerId);
  const { lines, total } = await priceLines(database, input);
  const orderedAt = input.orderedAt ?? new Date();

  const insertedId = await database.transaction(async (tx) => {
    // on conflict do nothing rather than a prior select: two tills retrying at once both land here, the
    // second waits for the first's commit and then finds its order instead of failing on the unique key.
    const order = await tx.db
      .insertInto('orders')
      .values({
        customer_id: customerId,
        external_id: input.externalId,
        store_id: store?.id ?? null,
        ordered_at: orderedAt,
        currency: input.currency ?? DEFAULT_CURRENCY,
        total,
      })
      .onConflict((oc) => oc.column('external_id').doNothing())
      .returning('id')
      .executeTakeFirst();
    if (!order) return null;
    await tx.db
      .insertInto('order_lines')
      .values(
        lines.map((line) => ({
          customer_id: customerId,
          order_id: order.id,
          line_no: line.lineNo,
          product_id: line.productId,
          quantity: line.quantity,
          unit_price: line.unitPrice,
          amount: line.amount,
        })),
      )
      .execute();
    return order.id;
  });

  if (insertedId !== null) {
    const [order] = await loadOrders(database, { customerId, orderIds: [insertedId] });
    return { order: order!, created: true };
  }
  const existing = await orderByExternalId(database, input.externalId);
  const differs = await differences(database, input, customerId, store, existing);
  if (differs.length > 0) {
    throw new KizunaError(
      'order_conflict',
      `Order ${input.externalId} was already recorded with a different ${differs.join(', ')}`,
      { field: differs[0], status: 409 },
    );
  }
  return { order: existing, created: false };
}

async function orderByExternalId(database: Database, externalId: string): Promise<Order> {
  const row = await database.db
    .selectFrom('orders')
    .select(['customer_id', 'id'])
    .where('external_id', '=', externalId)
    .executeTakeFirstOrThrow();
  const [order] = await loadOrders(database, { customerId: row.customer_id, orderIds: [row.id] });
  return order!;
}

/** Orders of one customer with their lines; all of them when `orderIds` is not given. */
async function loadOrders(
  database: Database,
  where: { customerId: number; orderIds?: number[] },
  paging?: Paging,
): Promise<Order[]> {
  let query = database.db
    .selectFrom('orders as o')
    .leftJoin('stores as s', 's.id', 'o.store_id')
    .select([
      'o.id',
      'o.external_id',
      'o.customer_id',
      'o.store_id',
      's.code as store_code',
      's.name as store_name',
      'o.ordered_at',
      'o.currency',
      'o.total',
      'o.created_at',
    ])
    .where('o.customer_id', '=', where.customerId);
  if (where.orderIds) query = query.where('o.id', 'in', where.orderIds);
  query = query.orderBy('o.ordered_at', 'desc').orderBy('o.id', 'desc');
  if (paging) query = query.limit(paging.limit + 1).offset(paging.offset);
  const headers = await query.execute();
  if (headers.length === 0) return [];
  const lines = await database.db
    .selectFrom('order_lines as l')
    .innerJoin('products as p', 'p.id', 'l.product_id')
    .select([
      'l.order_id',
      'l.line_no',
      'l.product_id',
      'p.sku',
      'p.name',
      'l.quantity',
      'l.unit_price',
      'l.amount',
    ])
    .where('l.customer_id', '=', where.customerId)
    .where(
      'l.order_id',
      'in',
      headers.map((h) => h.id),
    )
    .orderBy('l.order_id')
    .orderBy('l.line_no')
    .execute();
  const linesOf = new Map<number, OrderLine[]>();
  for (const line of lines) {
    const list = linesOf.get(line.order_id) ?? [];
    list.push({
      lineNo: line.line_no,
      productId: line.product_id,
      sku: line.sku,
      productName: line.name,
      quantity: line.quantity,
      unitPrice: line.unit_price,
      amount: line.amount,
    });
    linesOf.set(line.order_id, list);
  }
  return headers.map((h) => ({
    id: h.id,
    externalId: h.external_id,
    customerId: h.customer_id,
    store:
      h.store_id === null || h.store_code === null || h.store_name === null
        ? null
        : { id: h.store_id, code: h.store_code, name: h.store_name },
    orderedAt: h.ordered_at,
    currency: h.currency,
    total: h.total,
    createdAt: h.created_at,
    lines: linesOf.get(h.id) ?? [],
  }));
}

/** A customer's orders with their lines, newest first. */
export async function listCustomerOrders(
  database: Database,
  customerId: number,
  paging: Paging = DEFAULT_PAGING,
): Promise<{ orders: Order[]; hasMore: boolean }> {
  const page = pageOf(await loadOrders(database, { customerId }, paging), paging);
  return { orders: page.items, hasMore: page.hasMore };
}
