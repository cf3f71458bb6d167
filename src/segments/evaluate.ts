import type { Database } from '../db/index.ts';
import { type CustomerRows, conditionKind, isGroup, isNot, type RuleNode } from './rules.ts';

/**
 * The independent evaluator: the same rule tree decided customer by customer over plain rows loaded into
 * memory, with no SQL beyond "select every row". It is deliberately simple and slow; the tests compare
 * the compiled SQL with it on random trees and data. Only for small databases.
 */
export function evaluateRules(node: RuleNode, rows: CustomerRows, asOf: Date): boolean {
  if (isGroup(node)) {
    return node.op === 'and'
      ? node.children.every((child) => evaluateRules(child, rows, asOf))
      : node.children.some((child) => evaluateRules(child, rows, asOf));
  }
  if (isNot(node)) return !evaluateRules(node.child, rows, asOf);
  return conditionKind(node.kind).evaluate(node, rows, { asOf });
}

/** Every customer's rows, loaded table by table and grouped by customer in JavaScript. */
export async function loadCustomerRows(database: Database): Promise<Map<number, CustomerRows>> {
  const db = database.db;
  const customers = await db
    .selectFrom('customers')
    .select([
      'id',
      'tags',
      'custom_fields',
      'acquisition_source',
      'account_owner_staff_id',
      'home_store_id',
      'birth_date',
      'do_not_contact',
      'merged_into_customer_id',
      'erased_at',
    ])
    .execute();
  const all = new Map<number, CustomerRows>();
  for (const customer of customers) {
    all.set(customer.id, {
      customer,
      orders: [],
      lines: [],
      consents: [],
      touches: [],
      interactions: [],
      preferences: [],
      measures: null,
      clv: null,
    });
  }
  const of = (customerId: number) => all.get(customerId)!;

  for (const o of await db
    .selectFrom('orders')
    .select(['customer_id', 'id', 'ordered_at', 'total', 'store_id'])
    .execute()) {
    of(o.customer_id).orders.push({
      id: o.id,
      ordered_at: o.ordered_at,
      total: o.total,
      store_id: o.store_id,
    });
  }
  const products = new Map(
    (await db.selectFrom('products').select(['id', 'sku', 'category']).execute()).map((p) => [p.id, p]),
  );
  for (const l of await db
    .selectFrom('order_lines')
    .select(['customer_id', 'order_id', 'product_id', 'amount'])
    .execute()) {
    const product = products.get(l.product_id)!;
    of(l.customer_id).lines.push({
      order_id: l.order_id,
      product_id: l.product_id,
      sku: product.sku,
      category: product.category,
      amount: l.amount,
    });
  }
  for (const k of await db
    .selectFrom('consents')
    .select(['customer_id', 'id', 'channel', 'granted', 'recorded_at'])
    .execute()) {
    of(k.customer_id).consents.push({
      id: k.id,
      channel: k.channel,
      granted: k.granted,
      recorded_at: k.recorded_at,
    });
  }
  for (const t of await db
    .selectFrom('touches')
    .select(['customer_id', 'channel', 'campaign', 'variant', 'sent_at', 'opened_at', 'clicked_at'])
    .execute()) {
    const { customer_id, ...touch } = t;
    of(customer_id).touches.push(touch);
  }
  for (const i of await db
    .selectFrom('interactions')
    .select(['customer_id', 'kind', 'status', 'opened_at', 'store_id'])
    .execute()) {
    const { customer_id, ...interaction } = i;
    of(customer_id).interactions.push(interaction);
  }
  for (const n of await db
    .selectFrom('preferences')
    .select(['customer_id', 'key', 'value', 'note', 'noted_at', 'obsolete_at'])
    .execute()) {
    const { customer_id, ...note } = n;
    of(customer_id).preferences.push(note);
  }
  for (const m of await db
    .selectFrom('customer_measures')
    .select([
      'customer_id',
      'tier',
      'rfm_cell',
      'rfm_group',
      'total_spend',
      'gross_margin',
      'average_order_value',
      'returns_amount',
      'orders_count',
      'purchase_days',
      'tenure_days',
      'recency_days',
    ])
    .execute()) {
    const { customer_id, ...measures } = m;
    of(customer_id).measures = measures;
  }
  for (const v of await db
    .selectFrom('customer_clv')
    .select(['customer_id', 'clv', 'expected_spend', 'probability_alive', 'expected_purchases_next_year'])
    .execute()) {
    const { customer_id, ...clv } = v;
    of(customer_id).clv = clv;
  }
  return all;
}

/**
 * The members by the plain definition: not merged away, not erased, of one of `storeIds` (null: every
 * store) — home store, or an order or interaction there — and matching the rules. Ids ascending.
 */
export function evaluateMembers(
  all: Map<number, CustomerRows>,
  rules: RuleNode,
  options: { asOf: Date; storeIds: readonly number[] | null },
): number[] {
  const members: number[] = [];
  for (const [id, rows] of all) {
    if (rows.customer.merged_into_customer_id !== null || rows.customer.erased_at !== null) continue;
    if (options.storeIds !== null) {
      const stores = options.storeIds;
      const mine = (storeId: number | null) => storeId !== null && stores.includes(storeId);
      const inScope =
        mine(rows.customer.home_store_id) ||
        rows.orders.some((o) => mine(o.store_id)) ||
        rows.interactions.some((i) => mine(i.store_id));
      if (!inScope) continue;
    }
    if (evaluateRules(rules, rows, options.asOf)) members.push(id);
  }
  return members.sort((a, b) => a - b);
}
