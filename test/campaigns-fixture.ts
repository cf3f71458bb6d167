import { CLI_ACTOR } from '../src/auth/index.ts';
import type { ConsentChannel, Database, Tier } from '../src/db/index.ts';
import { parseRules, saveSegment } from '../src/segments/index.ts';

/** One customer of a hand-made shop for the campaign tests. */
export type ShopCustomer = {
  id: number;
  name: string;
  email?: string | null;
  tier?: Tier | null;
  /** The consent in force per channel (one history row each); absent: never asked. */
  consents?: Partial<Record<ConsentChannel, boolean>>;
  tags?: string[];
  doNotContact?: boolean;
  erased?: boolean;
  postalCode?: string;
  address?: string;
  phone?: string;
};

export const CONSENTED_AT = new Date('2026-01-01T00:00:00Z');

/** Inserts the customers, their consents and measures (tier); the tag 'audience' marks the segment. */
export async function loadCustomers(database: Database, customers: readonly ShopCustomer[]): Promise<void> {
  const db = database.db;
  await db
    .insertInto('customers')
    .values(
      customers.map((c) => ({
        id: c.id,
        name: c.erased ? null : c.name,
        email: c.erased ? null : c.email === undefined ? `${c.name.toLowerCase()}@example.jp` : c.email,
        phone: c.phone ?? null,
        postal_code: c.postalCode ?? null,
        address: c.address ?? null,
        tags: c.tags ?? ['audience'],
        do_not_contact: c.doNotContact ?? false,
        erased_at: c.erased ? new Date('2026-02-01T00:00:00Z') : null,
      })),
    )
    .execute();
  const consents = customers.flatMap((c) =>
    Object.entries(c.consents ?? {}).map(([channel, granted]) => ({
      customer_id: c.id,
      channel: channel as ConsentChannel,
      granted: granted as boolean,
      recorded_at: CONSENTED_AT,
      source: 'test',
    })),
  );
  if (consents.length) await db.insertInto('consents').values(consents).execute();
  const measured = customers.filter((c) => c.tier);
  if (measured.length) {
    await db
      .insertInto('customer_measures')
      .values(
        measured.map((c) => ({
          customer_id: c.id,
          as_of: '2026-06-30',
          orders_count: 1,
          purchase_days: 1,
          total_spend: '1000.00',
          gross_margin: '300.00',
          returns_amount: '0.00',
          tier: c.tier!,
        })),
      )
      .execute();
  }
}

/** A saved segment of the customers tagged `tag`. */
export async function tagSegment(database: Database, name: string, tag = 'audience'): Promise<number> {
  const segment = await saveSegment(database, CLI_ACTOR, {
    name,
    rules: parseRules({ kind: 'tag', tags: [tag] }),
  });
  return segment.id;
}

/** A purchase of one item: one order with one line. */
export type Purchase = { customerId: number; at: Date; productId: number; price: number };

let purchaseNo = 0;

/** Records one order of one item per purchase (two statements for any number of purchases). */
export async function recordPurchases(database: Database, purchases: readonly Purchase[]): Promise<void> {
  if (purchases.length === 0) return;
  const rows = purchases.map((p) => ({ ...p, externalId: `purchase-${++purchaseNo}` }));
  const orders = await database.db
    .insertInto('orders')
    .values(
      rows.map((r) => ({
        customer_id: r.customerId,
        external_id: r.externalId,
        ordered_at: r.at,
        total: String(r.price),
      })),
    )
    .returning(['id', 'external_id'])
    .execute();
  const orderId = new Map(orders.map((o) => [o.external_id, o.id]));
  await database.db
    .insertInto('order_lines')
    .values(
      rows.map((r) => ({
        customer_id: r.customerId,
        order_id: orderId.get(r.externalId)!,
        line_no: 1,
        product_id: r.productId,
        quantity: 1,
        unit_price: String(r.price),
        amount: String(r.price),
      })),
    )
    .execute();
}
