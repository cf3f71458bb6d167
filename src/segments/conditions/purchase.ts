import { type RawBuilder, sql } from 'kysely';
import { z } from 'zod';
import {
  type CompileContext,
  type Condition,
  type ConditionKind,
  type CustomerRows,
  cents,
  days,
  type EvaluateContext,
  ids,
  money,
  type RowPredicate,
  rowExists,
  texts,
  windowStart,
} from '../rules.ts';
import { allOf, anyOf } from './sql-parts.ts';

const count = z.number().int().min(0).max(1_000_000);

/**
 * "Bought A" in every form: a product, any of several, a category; at least / at most N orders or an
 * amount; in the last N days or ever; at some stores. Without products or categories it counts orders
 * (frequency, spend). "Never bought A" is `maxOrders: 0` (or `not`).
 */
export const Purchased = z
  .strictObject({
    kind: z.literal('purchased'),
    productIds: ids.optional(),
    skus: texts.optional(),
    categories: texts.optional(),
    storeIds: ids.optional(),
    withinDays: days.optional(),
    minOrders: count
      .optional()
      .describe('at least this many orders with a matching line (default 1, or 0 when maxOrders is given)'),
    maxOrders: count.optional(),
    minAmount: money.optional().describe('at least this much spent on matching lines (orders)'),
    maxAmount: money.optional(),
  })
  .refine((p) => p.maxOrders === undefined || p.minOrders === undefined || p.maxOrders >= p.minOrders, {
    message: 'maxOrders is below minOrders',
    path: ['maxOrders'],
  });
export type Purchased = z.infer<typeof Purchased>;

/** "Bought A" means at least once; "bought A at most twice" includes never (so `maxOrders: 0` is "never"). */
const minOrdersOf = (p: Purchased): number => p.minOrders ?? (p.maxOrders === undefined ? 1 : 0);

/** Whether a customer with no matching purchase at all meets the condition. */
const zeroQualifies = (p: Purchased) =>
  minOrdersOf(p) === 0 &&
  (p.minAmount === undefined || p.minAmount <= 0) &&
  (p.maxAmount === undefined || p.maxAmount >= 0);

const byLines = (p: Purchased) =>
  p.productIds !== undefined || p.skus !== undefined || p.categories !== undefined;

/**
 * The rows a purchase condition looks at: order lines (with products or categories) or orders. Lines are
 * joined to their orders only when an order's time or store matters: a window, stores, or orders dated
 * after asOf that must be left out — otherwise the join would be most of the cost of "bought A".
 */
function purchaseRows(
  p: Purchased,
  ctx: CompileContext,
): { from: RawBuilder<unknown>; who: RawBuilder<unknown>; where: RawBuilder<boolean> } {
  const needsOrders = ctx.ordersAfterAsOf || p.withinDays !== undefined || p.storeIds !== undefined;
  const parts: RawBuilder<unknown>[] = [];
  if (ctx.ordersAfterAsOf) parts.push(sql`o.ordered_at <= ${ctx.asOf}`);
  if (p.withinDays !== undefined) parts.push(sql`o.ordered_at > ${windowStart(ctx.asOf, p.withinDays)}`);
  if (p.storeIds !== undefined) parts.push(sql`o.store_id = any(${p.storeIds}::bigint[])`);
  if (!byLines(p)) return { from: sql`orders o`, who: sql`o.customer_id`, where: allOf(parts) };
  // Products as an array computed once (an init plan), so that the lines are read through the
  // (product_id, customer_id) index rather than scanned and hashed against products.
  const what: RawBuilder<unknown>[] = [];
  if (p.productIds !== undefined) what.push(sql`l.product_id = any(${p.productIds}::bigint[])`);
  if (p.skus !== undefined) {
    what.push(
      sql`l.product_id = any(array(select ps.id from products ps where ps.sku = any(${p.skus}::text[])))`,
    );
  }
  if (p.categories !== undefined) {
    what.push(
      sql`l.product_id = any(array(select pc.id from products pc where pc.category = any(${p.categories}::text[])))`,
    );
  }
  parts.push(anyOf(what));
  const from = needsOrders
    ? sql`order_lines l join orders o on o.customer_id = l.customer_id and o.id = l.order_id`
    : sql`order_lines l`;
  return { from, who: sql`l.customer_id`, where: allOf(parts) };
}

/** Order counts and spend straight from customer_measures, when they are exact (see CompileContext). */
function fromMeasures(p: Purchased, ctx: CompileContext): boolean {
  return (
    !byLines(p) &&
    p.withinDays === undefined &&
    p.storeIds === undefined &&
    !ctx.ordersAfterAsOf &&
    ctx.measuresCoverOrders
  );
}

function measuresHold(p: Purchased): RawBuilder<boolean> {
  const checks: RawBuilder<unknown>[] = [sql`m.orders_count >= ${minOrdersOf(p)}`];
  if (p.maxOrders !== undefined) checks.push(sql`m.orders_count <= ${p.maxOrders}`);
  if (p.minAmount !== undefined) checks.push(sql`m.total_spend >= ${String(p.minAmount)}::numeric`);
  if (p.maxAmount !== undefined) checks.push(sql`m.total_spend <= ${String(p.maxAmount)}::numeric`);
  return allOf(checks);
}

/**
 * The facts rows `f` of the condition's categories, last bought within its window if it has one. One
 * category is compared by `=`, not `= any(…)`: with the primary key (customer_id, category), PostgreSQL
 * then knows that the category's rows hold each customer once, so a count starting from them joins them
 * as they are; with `any` it removed duplicates from the range first (a hash aggregate in every parallel
 * process; on PGlite "bought both" took twice as long).
 */
function factsOf(p: Purchased, ctx: CompileContext): RawBuilder<boolean> {
  const categories = p.categories ?? [];
  const category =
    categories.length === 1
      ? sql<boolean>`f.category = ${categories[0]!}`
      : sql<boolean>`f.category = any(${[...categories]}::text[])`;
  if (p.withinDays === undefined) return category;
  return sql<boolean>`${category} and f.last_at > ${windowStart(ctx.asOf, p.withinDays)}`;
}

/**
 * A condition on categories only, read from `customer_category_facts` (one row per customer and category
 * bought, migration 016) when no order is dated after asOf, so that the facts, which are as of now, are as
 * of asOf too. Exact for: bought (or never bought) in the last N days or ever — a row whose last order is
 * in the window; and, without a window, order counts and amounts — amounts add up over categories (a line
 * has one category), order counts only for one category (an order may hold lines of two). Otherwise null:
 * the lines are read.
 */
function fromCategoryFacts(p: Purchased, ctx: CompileContext): RawBuilder<boolean> | null {
  if (
    p.categories === undefined ||
    p.productIds !== undefined ||
    p.skus !== undefined ||
    p.storeIds !== undefined ||
    ctx.ordersAfterAsOf
  ) {
    return null;
  }
  const minOrders = minOrdersOf(p);
  const noAmounts = p.minAmount === undefined && p.maxAmount === undefined;
  const facts = factsOf(p, ctx);
  const rows = sql`select 1 from customer_category_facts f where f.customer_id = ${ctx.customerId} and ${facts}`;
  if (noAmounts && p.maxOrders === undefined && minOrders === 1) return sql<boolean>`exists (${rows})`;
  if (noAmounts && p.maxOrders === 0) return sql<boolean>`not exists (${rows})`;
  if (p.withinDays !== undefined) return null;
  const countsOrders = minOrders > 1 || p.maxOrders !== undefined;
  if (countsOrders && p.categories.length > 1) return null;
  const checks: RawBuilder<unknown>[] = [sql`sum(f.orders) >= ${minOrders}`];
  if (p.maxOrders !== undefined) checks.push(sql`sum(f.orders) <= ${p.maxOrders}`);
  if (p.minAmount !== undefined) checks.push(sql`sum(f.amount) >= ${String(p.minAmount)}::numeric`);
  if (p.maxAmount !== undefined) checks.push(sql`sum(f.amount) <= ${String(p.maxAmount)}::numeric`);
  const buyers = (having: RawBuilder<unknown>) =>
    sql`select f.customer_id from customer_category_facts f where ${facts} group by f.customer_id having ${having}`;
  return zeroQualifies(p)
    ? sql<boolean>`${ctx.customerId} not in (${buyers(sql`not ${allOf(checks)}`)})`
    : sql<boolean>`${ctx.customerId} in (${buyers(allOf(checks))})`;
}

/**
 * The customers who meet a "bought these categories (in the last N days)" condition, straight from the
 * facts, when it is one the facts answer (see fromCategoryFacts): the ids a count can start from. The
 * facts hold only customers who can be members, so the ids need no check against customers.
 */
export function categoryFactsBuyers(
  node: Condition,
  ctx: CompileContext,
): { buyers: RawBuilder<unknown>; unique: boolean } | null {
  if (node.kind !== 'purchased') return null;
  const p = node as Purchased;
  const existence =
    p.minAmount === undefined &&
    p.maxAmount === undefined &&
    p.maxOrders === undefined &&
    minOrdersOf(p) === 1;
  if (!existence || fromCategoryFacts(p, ctx) === null) return null;
  return {
    buyers: sql`select f.customer_id from customer_category_facts f where ${factsOf(p, ctx)}`,
    // One row per customer and category: with one category, each buyer once.
    unique: p.categories!.length === 1,
  };
}

function compilePurchased(p: Purchased, ctx: CompileContext): RawBuilder<boolean> {
  const minOrders = minOrdersOf(p);
  const facts = fromCategoryFacts(p, ctx);
  if (facts) return facts;
  if (fromMeasures(p, ctx)) {
    const holds = measuresHold(p);
    return zeroQualifies(p)
      ? sql<boolean>`not exists (select 1 from customer_measures m where m.customer_id = ${ctx.customerId} and not ${holds})`
      : rowExists({ table: 'customer_measures', predicate: holds }, ctx.customerId);
  }
  const { from, who, where } = purchaseRows(p, ctx);
  const existence = p.maxOrders === undefined && p.minAmount === undefined && p.maxAmount === undefined;
  if (existence && minOrders <= 1) {
    if (minOrders === 0) return sql<boolean>`true`;
    return sql<boolean>`exists (select 1 from ${from} where ${who} = ${ctx.customerId} and ${where})`;
  }
  const orders = byLines(p) ? sql`count(distinct l.order_id)` : sql`count(*)`;
  const amount = byLines(p) ? sql`sum(l.amount)` : sql`sum(o.total)`;
  const checks: RawBuilder<unknown>[] = [sql`${orders} >= ${minOrders}`];
  if (p.maxOrders !== undefined) checks.push(sql`${orders} <= ${p.maxOrders}`);
  if (p.minAmount !== undefined) checks.push(sql`${amount} >= ${String(p.minAmount)}::numeric`);
  if (p.maxAmount !== undefined) checks.push(sql`${amount} <= ${String(p.maxAmount)}::numeric`);
  const holds = allOf(checks);
  const buyers = (having: RawBuilder<unknown>) =>
    sql`select ${who} from ${from} where ${where} group by ${who} having ${having}`;
  // When a customer without any matching purchase qualifies too ("at most 2 times"), list those who do
  // not qualify instead: one hashed anti-lookup, and no customer is forgotten for having no rows.
  return zeroQualifies(p)
    ? sql<boolean>`${ctx.customerId} not in (${buyers(sql`not ${holds}`)})`
    : sql<boolean>`${ctx.customerId} in (${buyers(holds)})`;
}

function evaluatePurchased(p: Purchased, rows: CustomerRows, { asOf }: EvaluateContext): boolean {
  const start = p.withinDays === undefined ? null : windowStart(asOf, p.withinDays);
  const orders = rows.orders.filter(
    (o) =>
      o.ordered_at <= asOf &&
      (start === null || o.ordered_at > start) &&
      (p.storeIds === undefined || (o.store_id !== null && p.storeIds.includes(o.store_id))),
  );
  let orderCount = 0;
  let amountCents = 0;
  if (byLines(p)) {
    const orderIds = new Set(orders.map((o) => o.id));
    const matching = rows.lines.filter(
      (l) =>
        orderIds.has(l.order_id) &&
        ((p.productIds?.includes(l.product_id) ?? false) ||
          (p.skus?.includes(l.sku) ?? false) ||
          (p.categories?.includes(l.category) ?? false)),
    );
    orderCount = new Set(matching.map((l) => l.order_id)).size;
    for (const l of matching) amountCents += cents(l.amount);
  } else {
    orderCount = orders.length;
    for (const o of orders) amountCents += cents(o.total);
  }
  return (
    orderCount >= minOrdersOf(p) &&
    (p.maxOrders === undefined || orderCount <= p.maxOrders) &&
    (p.minAmount === undefined || amountCents >= cents(p.minAmount)) &&
    (p.maxAmount === undefined || amountCents <= cents(p.maxAmount))
  );
}

export const purchased: ConditionKind<Purchased> = {
  kind: 'purchased',
  summary:
    'bought products (ids or SKUs) / categories (or anything), at least / at most N orders or an amount, in the last N days or ever, at some stores',
  schema: Purchased,
  compile: compilePurchased,
  rowPredicate: (p, ctx) =>
    fromMeasures(p, ctx) && !zeroQualifies(p)
      ? { table: 'customer_measures', predicate: measuresHold(p) }
      : null,
  evaluate: evaluatePurchased,
};

const Recency = z
  .strictObject({
    kind: z.enum(['last_purchase', 'first_purchase']),
    withinDays: days.optional().describe('it was in the last N days'),
    olderThanDays: days.optional().describe('it was N days ago or longer'),
  })
  .refine((p) => p.withinDays !== undefined || p.olderThanDays !== undefined, {
    message: 'give withinDays, olderThanDays or both',
  });
type Recency = z.infer<typeof Recency>;

const anOrder = (ctx: CompileContext, from: Date | null, to: Date) =>
  from === null
    ? sql`exists (select 1 from orders o where o.customer_id = ${ctx.customerId} and o.ordered_at <= ${to})`
    : sql`exists (select 1 from orders o where o.customer_id = ${ctx.customerId} and o.ordered_at > ${from} and o.ordered_at <= ${to})`;

/**
 * Last purchase in the last N days ⇔ an order in (asOf − N, asOf]; N days ago or longer ⇔ an order up to
 * asOf − N and none after it. First purchase in the last N days ⇔ an order in the window and none before.
 */
/** One row per customer: the first / last purchase is a stored time, when the measures cover every order. */
function recencyRow(p: Recency, ctx: CompileContext): RowPredicate | null {
  if (ctx.ordersAfterAsOf || !ctx.measuresCoverOrders) return null;
  const at = sql.ref(p.kind === 'last_purchase' ? 'm.last_purchase_at' : 'm.first_purchase_at');
  const bounds: RawBuilder<unknown>[] = [sql`${at} is not null`];
  if (p.withinDays !== undefined) bounds.push(sql`${at} > ${windowStart(ctx.asOf, p.withinDays)}`);
  if (p.olderThanDays !== undefined) bounds.push(sql`${at} <= ${windowStart(ctx.asOf, p.olderThanDays)}`);
  return { table: 'customer_measures', predicate: allOf(bounds) };
}

function compileRecency(p: Recency, ctx: CompileContext): RawBuilder<boolean> {
  const row = recencyRow(p, ctx);
  if (row) return rowExists(row, ctx.customerId);
  const parts: RawBuilder<unknown>[] = [];
  if (p.withinDays !== undefined) {
    const start = windowStart(ctx.asOf, p.withinDays);
    parts.push(anOrder(ctx, start, ctx.asOf));
    if (p.kind === 'first_purchase') parts.push(sql`not ${anOrder(ctx, null, start)}`);
  }
  if (p.olderThanDays !== undefined) {
    const end = windowStart(ctx.asOf, p.olderThanDays);
    parts.push(anOrder(ctx, null, end));
    if (p.kind === 'last_purchase') parts.push(sql`not ${anOrder(ctx, end, ctx.asOf)}`);
  }
  return allOf(parts);
}

function evaluateRecency(p: Recency, rows: CustomerRows, { asOf }: EvaluateContext): boolean {
  const times = rows.orders.filter((o) => o.ordered_at <= asOf).map((o) => o.ordered_at.getTime());
  if (times.length === 0) return false;
  const at = p.kind === 'last_purchase' ? Math.max(...times) : Math.min(...times);
  return (
    (p.withinDays === undefined || at > windowStart(asOf, p.withinDays).getTime()) &&
    (p.olderThanDays === undefined || at <= windowStart(asOf, p.olderThanDays).getTime())
  );
}

export const lastPurchase: ConditionKind<Recency> = {
  kind: 'last_purchase',
  summary: 'the latest purchase was in the last N days (withinDays) or N days ago or longer (olderThanDays)',
  schema: Recency,
  compile: compileRecency,
  rowPredicate: recencyRow,
  evaluate: evaluateRecency,
};

export const firstPurchase: ConditionKind<Recency> = {
  kind: 'first_purchase',
  summary: 'the first purchase was in the last N days (withinDays) or N days ago or longer (olderThanDays)',
  schema: Recency,
  compile: compileRecency,
  rowPredicate: recencyRow,
  evaluate: evaluateRecency,
};
