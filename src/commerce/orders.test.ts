import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase } from '../../test/helpers/database.ts';
import { type Actor, CLI_ACTOR, requireCustomerInScope } from '../auth/index.ts';
import type { Database } from '../db/index.ts';
import { KizunaError } from '../errors.ts';
import { createOrder, listCustomerOrders, type OrderInput, parseOrderInput } from './index.ts';

let database: Database;
let storeA: number;
let storeB: number;
let hanako: number;
let ichiro: number;
let cheap: number;

const till = (storeIds: number[]): Actor => ({
  kind: 'token',
  staffId: null,
  tokenId: null,
  name: 'till',
  role: 'store_staff',
  storeIds,
});

async function refusal(promise: Promise<unknown>): Promise<KizunaError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof KizunaError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

const counts = async () => ({
  orders: Number(
    (
      await database.db
        .selectFrom('orders')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  ),
  lines: Number(
    (
      await database.db
        .selectFrom('order_lines')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  ),
});

beforeAll(async () => {
  database = await openTestDatabase();
  const db = database.db;
  [storeA, storeB] = (
    await db
      .insertInto('stores')
      .values([
        { code: 'S01', name: '渋谷店' },
        { code: 'S02', name: '梅田店' },
      ])
      .returning('id')
      .execute()
  ).map((r) => r.id) as [number, number];
  const products = await db
    .insertInto('products')
    .values([
      { sku: 'LENS2W', name: 'Contact lenses 2-week', category: 'lenses', price: '3000.00' },
      { sku: 'SOL', name: 'Lens solution', category: 'care', price: '1234.56' },
      { sku: 'CASE', name: 'Lens case', category: 'care', price: '0.10' },
    ])
    .returning('id')
    .execute();
  cheap = products[2]!.id;
  [hanako, ichiro] = (
    await db
      .insertInto('customers')
      .values([
        { external_id: 'C-0001', name: '山田 花子', home_store_id: storeA },
        { external_id: 'C-0002', name: '田中 一郎', home_store_id: storeB },
      ])
      .returning('id')
      .execute()
  ).map((r) => r.id) as [number, number];
});

afterAll(async () => database?.close());

const firstOrder = (): OrderInput =>
  parseOrderInput({
    externalId: 'POS-1',
    customerExternalId: 'C-0001',
    storeCode: 'S01',
    orderedAt: '2025-03-01T10:15:00+09:00',
    lines: [
      { sku: 'LENS2W', quantity: 2 },
      { sku: 'SOL', quantity: 3 },
      { productId: cheap, quantity: 3, unitPrice: 0.1 },
    ],
  });

describe('createOrder', () => {
  it('prices lines from the catalog and totals them exactly, in one order with its lines', async () => {
    const { order, created } = await createOrder(database, CLI_ACTOR, firstOrder());
    expect(created).toBe(true);
    expect(order.customerId).toBe(hanako);
    expect(order.store).toEqual({ id: storeA, code: 'S01', name: '渋谷店' });
    expect(order.orderedAt.toISOString()).toBe('2025-03-01T01:15:00.000Z');
    expect(order.currency).toBe('JPY');
    expect(order.lines.map((l) => [l.lineNo, l.sku, l.quantity, l.unitPrice, l.amount])).toEqual([
      [1, 'LENS2W', 2, '3000.00', '6000.00'],
      [2, 'SOL', 3, '1234.56', '3703.68'],
      [3, 'CASE', 3, '0.10', '0.30'],
    ]);
    // 6000 + 3703.68 + 0.30; as floats 0.1 * 3 alone is already 0.30000000000000004.
    expect(order.total).toBe('9703.98');
    const stored = await database.db
      .selectFrom('orders')
      .select(['total', 'customer_id'])
      .where('external_id', '=', 'POS-1')
      .executeTakeFirstOrThrow();
    expect(stored).toEqual({ total: '9703.98', customer_id: hanako });
    expect(await counts()).toEqual({ orders: 1, lines: 3 });
  });

  it('returns the stored order when the same order is sent again, writing nothing', async () => {
    const before = await counts();
    const first = await createOrder(database, CLI_ACTOR, firstOrder());
    expect(first.created).toBe(false);
    expect(first.order.total).toBe('9703.98');
    // Leaving out what defaulted (time, prices) still matches the order as stored.
    const { orderedAt: _, ...withoutTime } = firstOrder();
    const again = await createOrder(database, CLI_ACTOR, {
      ...withoutTime,
      lines: withoutTime.lines.map(({ unitPrice: _price, ...line }) => line),
    });
    expect(again.created).toBe(false);
    expect(again.order.id).toBe(first.order.id);
    expect(await counts()).toEqual(before);
  });

  it('refuses the same external id with different content, naming what differs', async () => {
    const changed = firstOrder();
    changed.lines[1]!.quantity = 4;
    changed.currency = 'USD';
    const error = await refusal(createOrder(database, CLI_ACTOR, changed));
    expect(error.status).toBe(409);
    expect(error.code).toBe('order_conflict');
    expect(error.field).toBe('currency');
    expect(error.message).toContain('lines.1.quantity');
    const otherCustomer = { ...firstOrder(), customerExternalId: 'C-0002' };
    expect((await refusal(createOrder(database, CLI_ACTOR, otherCustomer))).field).toBe('customerExternalId');
  });

  it('records one order when two tills send the same order at once', async () => {
    const before = await counts();
    const input = parseOrderInput({
      externalId: 'POS-RACE',
      customerId: hanako,
      orderedAt: '2024-01-01T00:00:00Z',
      lines: [{ sku: 'SOL', quantity: 2 }],
    });
    const results = await Promise.all([1, 2, 3].map(() => createOrder(database, CLI_ACTOR, input)));
    expect(results.map((r) => r.created).sort()).toEqual([false, false, true]);
    expect(new Set(results.map((r) => r.order.id)).size).toBe(1);
    expect(await counts()).toEqual({ orders: before.orders + 1, lines: before.lines + 1 });
  });

  it('names the line of an unknown product and writes nothing', async () => {
    const before = await counts();
    const input = parseOrderInput({
      externalId: 'POS-2',
      customerId: hanako,
      lines: [
        { sku: 'LENS2W', quantity: 1 },
        { sku: 'NOPE', quantity: 1 },
      ],
    });
    const error = await refusal(createOrder(database, CLI_ACTOR, input));
    expect([error.status, error.code, error.field]).toEqual([400, 'unknown_product', 'lines.1.sku']);
    expect(await counts()).toEqual(before);
  });

  it('validates with the line index in the field', () => {
    const bad = (body: unknown) => {
      try {
        parseOrderInput(body);
      } catch (error) {
        return error instanceof KizunaError ? error.field : undefined;
      }
      return 'accepted';
    };
    const base = { externalId: 'X', customerId: 1, lines: [{ sku: 'A', quantity: 1 }] };
    expect(bad({ ...base, lines: [...base.lines, ...base.lines, { sku: 'A', quantity: 0 }] })).toBe(
      'lines.2.quantity',
    );
    expect(bad({ ...base, lines: [{ sku: 'A', quantity: 1, unitPrice: '1.005' }] })).toBe(
      'lines.0.unitPrice',
    );
    expect(bad({ ...base, lines: [{ quantity: 1 }] })).toBe('lines.0.sku');
    expect(bad({ ...base, customerId: undefined })).toBe('customerId');
    expect(bad({ ...base, orderedAt: '2025-03-01 10:00' })).toBe('orderedAt');
    expect(bad({ ...base, lines: [] })).toBe('lines');
    expect(bad(base)).toBe('accepted');
  });

  it('lets a store-limited till sell only at its stores, to any customer', async () => {
    const atB = parseOrderInput({
      externalId: 'POS-3',
      customerId: hanako,
      storeId: storeB,
      lines: [{ sku: 'SOL', quantity: 1 }],
    });
    const error = await refusal(createOrder(database, till([storeA]), atB));
    expect([error.status, error.code]).toEqual([403, 'store_out_of_scope']);
    const noStore = parseOrderInput({
      externalId: 'POS-3',
      customerId: hanako,
      lines: [{ sku: 'SOL', quantity: 1 }],
    });
    expect((await refusal(createOrder(database, till([storeA]), noStore))).field).toBe('storeId');

    // Ichiro's home is store B; before buying at A he is not a customer of A's staff.
    await expect(requireCustomerInScope(database, till([storeA]), ichiro)).rejects.toThrow(/not a customer/);
    const atA = parseOrderInput({
      externalId: 'POS-3',
      customerId: ichiro,
      storeId: storeA,
      lines: [{ sku: 'SOL', quantity: 1 }],
    });
    const { created } = await createOrder(database, till([storeA]), atA);
    expect(created).toBe(true);
    await expect(requireCustomerInScope(database, till([storeA]), ichiro)).resolves.toBeUndefined();
  });

  it('records the order for the surviving customer of a merge', async () => {
    const [merged] = await database.db
      .insertInto('customers')
      .values({ external_id: 'C-OLD', merged_into_customer_id: hanako })
      .returning('id')
      .execute();
    const { order } = await createOrder(
      database,
      CLI_ACTOR,
      parseOrderInput({
        externalId: 'POS-4',
        customerExternalId: 'C-OLD',
        lines: [{ sku: 'CASE', quantity: 1 }],
      }),
    );
    expect(merged!.id).not.toBe(hanako);
    expect(order.customerId).toBe(hanako);
    expect(order.store).toBeNull();
  });

  it('refuses unknown customers and stores with the field', async () => {
    const unknownCustomer = parseOrderInput({
      externalId: 'POS-5',
      customerExternalId: 'NOBODY',
      lines: [{ sku: 'CASE', quantity: 1 }],
    });
    const error = await refusal(createOrder(database, CLI_ACTOR, unknownCustomer));
    expect([error.status, error.field]).toEqual([404, 'customerExternalId']);
    const unknownStore = parseOrderInput({
      externalId: 'POS-5',
      customerId: hanako,
      storeCode: 'S99',
      lines: [{ sku: 'CASE', quantity: 1 }],
    });
    expect((await refusal(createOrder(database, CLI_ACTOR, unknownStore))).field).toBe('storeCode');
  });

  it('records nothing new for an erased customer', async () => {
    await database.db
      .insertInto('customers')
      .values({ external_id: 'C-GONE', erased_at: '2025-01-01T00:00:00Z' })
      .execute();
    const input = parseOrderInput({
      externalId: 'POS-7',
      customerExternalId: 'C-GONE',
      lines: [{ sku: 'CASE', quantity: 1 }],
    });
    const error = await refusal(createOrder(database, CLI_ACTOR, input));
    expect([error.status, error.code]).toEqual([409, 'customer_erased']);
  });

  it('refuses amounts numeric(14,2) cannot hold', async () => {
    const huge = parseOrderInput({
      externalId: 'POS-6',
      customerId: hanako,
      lines: [{ sku: 'LENS2W', quantity: 1_000_000, unitPrice: '999999999.99' }],
    });
    expect((await refusal(createOrder(database, CLI_ACTOR, huge))).field).toBe('lines.0.quantity');
  });
});

describe('listCustomerOrders', () => {
  it('lists a customer’s orders with lines, newest first, a page at a time', async () => {
    for (const [n, day] of [
      [10, '2025-04-01'],
      [11, '2025-05-01'],
    ] as const) {
      await createOrder(
        database,
        CLI_ACTOR,
        parseOrderInput({
          externalId: `POS-${n}`,
          customerId: hanako,
          storeId: storeA,
          orderedAt: `${day}T00:00:00Z`,
          lines: [{ sku: 'SOL', quantity: 1 }],
        }),
      );
    }
    const all = await listCustomerOrders(database, hanako);
    expect(all.orders.map((o) => o.externalId).slice(0, 3)).toEqual(['POS-4', 'POS-11', 'POS-10']);
    expect(all.orders.find((o) => o.externalId === 'POS-1')?.lines).toHaveLength(3);
    expect(all.hasMore).toBe(false);
    const page = await listCustomerOrders(database, hanako, { limit: 2, offset: 1 });
    expect(page.orders.map((o) => o.externalId)).toEqual(['POS-11', 'POS-10']);
    expect(page.hasMore).toBe(true);
    expect((await listCustomerOrders(database, ichiro)).orders.map((o) => o.externalId)).toEqual(['POS-3']);
  });
});
