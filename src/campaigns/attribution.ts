import { type Kysely, type RawBuilder, sql } from 'kysely';
import type { Database, Schema } from '../db/index.ts';

/**
 * Which purchases a campaign gets credit for (issue #7 part 5). One SQL statement, the same on PGlite and
 * PostgreSQL; docs/campaigns.md "Reading the report" says the same in words.
 *
 * - A campaign's **window** for a member opens at the member's touch from the campaign (touches.sent_at;
 *   a holdout member has none, so theirs opens when the campaign started sending: campaigns.send_started_at,
 *   or the campaign's earliest touch when that is not set) and lasts goal_window_days: sent_at ≤ ordered_at
 *   < sent_at + goal_window_days.
 * - A purchase (an order) **matches the goal** when the goal is 'any', or when one of its lines is one of the
 *   goal products ('product') or a product of the goal category ('category').
 * - Several campaigns may claim the same order: every touch whose window holds the order and whose own
 *   campaign's goal it matches. **Last touch** credits the latest of these touches, **first touch** the
 *   earliest (ties: the higher touch id for last touch, the lower for first). A holdout member of the
 *   reported campaign takes part with a would-be touch at the campaign's start, so the holdout loses
 *   purchases to other campaigns exactly as the treated members do; other campaigns' holdouts send nothing
 *   and claim nothing.
 * - Only orders up to `asOf` count (and touches up to `asOf`).
 * - **Revenue** of a credited order: the order total for goal 'any', else the amount of its goal-matching
 *   lines; minus the returns of that order (for goal 'any' all of them, else those of goal products) made
 *   inside the same window and up to asOf. **Cost of goods**: quantity × products.unit_cost of the same lines
 *   minus that of the returned quantities; lines whose product has no unit_cost are counted in
 *   `linesWithoutCost`, and then the margin is not known.
 * - The treated members counted are those in state 'sent' (the denominator of the rate); all holdout members
 *   count.
 */
export type AttributionRule = 'last_touch' | 'first_touch';
export const ATTRIBUTION_RULES = ['last_touch', 'first_touch'] as const satisfies readonly AttributionRule[];

export type AttributionOptions = { rule?: AttributionRule; asOf?: Date };

/** One order credited to the campaign. */
export type CreditedPurchase = {
  customerId: number;
  orderId: number;
  /** The member's variant; null for the holdout ("would have responded"). */
  variant: string | null;
  orderedAt: Date;
  /** When the credited touch (or the holdout's would-be touch) was sent. */
  creditedTouchAt: Date;
  /** Net of returns in the window, exact numeric(14,2) string. */
  revenue: string;
  costOfGoods: string;
  linesWithoutCost: number;
};

/** The purchases credited to one arm (a variant, or the holdout when variant is null). */
export type ArmAttribution = {
  variant: string | null;
  responders: number;
  purchases: number;
  revenue: string;
  /** Σ over responders of (their revenue)², for the variance of revenue per member. */
  revenueSumOfSquares: number;
  costOfGoods: string;
  linesWithoutCost: number;
};

/** "this order line (l, product p) matches campaign k's goal" as SQL. */
function lineMatches(k: string, line: string, product: string): RawBuilder<boolean> {
  return sql<boolean>`((${sql.ref(`${k}.goal_kind`)} = 'product' and ${sql.ref(`${line}.product_id`)} = any(${sql.ref(`${k}.goal_product_ids`)}))
    or (${sql.ref(`${k}.goal_kind`)} = 'category' and ${sql.ref(`${product}.category`)} = ${sql.ref(`${k}.goal_category`)}))`;
}

/** Whether the order (customer, id) matches campaign k's goal. */
function orderMatches(k: string, order: { customer: string; id: string }): RawBuilder<boolean> {
  return sql<boolean>`(${sql.ref(`${k}.goal_kind`)} = 'any' or exists (
    select 1 from order_lines gl join products gp on gp.id = gl.product_id
    where gl.customer_id = ${sql.ref(order.customer)} and gl.order_id = ${sql.ref(order.id)} and ${lineMatches(k, 'gl', 'gp')}))`;
}

/**
 * The CTEs down to `per_order`: one row per order credited to the campaign, with its arm, revenue and cost
 * of goods. `asOf` bounds orders, touches and returns.
 */
function creditedOrdersSql(campaignId: number, rule: AttributionRule, asOf: Date): RawBuilder<unknown> {
  const direction = sql.raw(rule === 'last_touch' ? 'desc' : 'asc');
  return sql`
with c as (
  select k.id, k.goal_kind, k.goal_product_ids, k.goal_category, k.goal_window_days,
         coalesce(k.send_started_at, (select min(t.sent_at) from touches t where t.campaign_id = k.id)) as started_at
  from campaigns k where k.id = ${campaignId}
),
members as (
  select r.customer_id, r.variant, r.holdout from campaign_recipients r
  where r.campaign_id = ${campaignId} and (r.holdout or r.state = 'sent')
),
anchors as (
  select m.customer_id, m.variant, m.holdout, t.sent_at as anchor_at
  from members m join touches t on t.customer_id = m.customer_id and t.campaign_id = ${campaignId}
  where not m.holdout and t.sent_at <= ${asOf}
  union all
  select m.customer_id, m.variant, m.holdout, c.started_at
  from members m cross join c
  where m.holdout and c.started_at is not null and c.started_at <= ${asOf}
),
window_orders as (
  select distinct o.customer_id, a.variant, o.id as order_id, o.ordered_at
  from anchors a cross join c
  join orders o on o.customer_id = a.customer_id
   and o.ordered_at >= a.anchor_at
   and o.ordered_at < a.anchor_at + c.goal_window_days * interval '1 day'
   and o.ordered_at <= ${asOf}
  where ${orderMatches('c', { customer: 'o.customer_id', id: 'o.id' })}
),
candidates as (
  select w.customer_id, w.variant, w.order_id, t.sent_at, t.id as touch_id, t.campaign_id
  from window_orders w
  join touches t on t.customer_id = w.customer_id and t.campaign_id is not null
   and t.sent_at <= w.ordered_at and t.sent_at <= ${asOf}
  join campaigns k on k.id = t.campaign_id
  where w.ordered_at < t.sent_at + k.goal_window_days * interval '1 day' and ${orderMatches('k', { customer: 'w.customer_id', id: 'w.order_id' })}
  union all
  select w.customer_id, w.variant, w.order_id, a.anchor_at, 0, ${campaignId}
  from window_orders w cross join c
  join anchors a on a.customer_id = w.customer_id and a.holdout
  where w.ordered_at >= a.anchor_at and w.ordered_at < a.anchor_at + c.goal_window_days * interval '1 day'
),
ranked as (
  select candidates.*,
         row_number() over (partition by customer_id, order_id order by sent_at ${direction}, touch_id ${direction}) as position
  from candidates
),
credited as (
  select customer_id, variant, order_id, sent_at as credited_at from ranked where position = 1 and campaign_id = ${campaignId}
),
per_order as (
  select cr.customer_id, cr.order_id, cr.variant, o.ordered_at, cr.credited_at,
         case when c.goal_kind = 'any' then o.total else coalesce(lines.amount, 0) end
           - coalesce(back.amount, 0) as revenue,
         coalesce(lines.cost, 0) - coalesce(back.cost, 0) as cost_of_goods,
         coalesce(lines.without_cost, 0) + coalesce(back.without_cost, 0) as lines_without_cost
  from credited cr
  cross join c
  join orders o on o.customer_id = cr.customer_id and o.id = cr.order_id
  left join lateral (
    select sum(l.amount) as amount, sum(l.quantity * p.unit_cost) as cost,
           count(*) filter (where p.unit_cost is null) as without_cost
    from order_lines l join products p on p.id = l.product_id
    where l.customer_id = cr.customer_id and l.order_id = cr.order_id
      and (c.goal_kind = 'any' or ${lineMatches('c', 'l', 'p')})
  ) lines on true
  left join lateral (
    select sum(rt.amount) as amount, sum(rt.quantity * p.unit_cost) as cost,
           count(*) filter (where p.unit_cost is null) as without_cost
    from returns rt join products p on p.id = rt.product_id
    where rt.customer_id = cr.customer_id and rt.order_id = cr.order_id
      and rt.returned_at < cr.credited_at + c.goal_window_days * interval '1 day'
      and rt.returned_at <= ${asOf}
      and (c.goal_kind = 'any' or ${lineMatches('c', 'rt', 'p')})
  ) back on true
)`;
}

/**
 * Runs the statement with PostgreSQL's JIT off (in a transaction, `set local`). The statement is costed
 * above jit_above_cost on a real shop, and compiling it took longer than running it: 7.9 s instead of
 * 1.8 s at 100,000 members (bench/campaign-report.ts). PGlite has no JIT; the setting is harmless there.
 */
function withoutJit<T>(database: Database, work: (db: Kysely<Schema>) => Promise<T>): Promise<T> {
  return database.transaction(async (tx) => {
    await sql`set local jit = off`.execute(tx.db);
    return work(tx.db);
  });
}

const optionsOf = (options: AttributionOptions) => ({
  rule: options.rule ?? 'last_touch',
  asOf: options.asOf ?? new Date(),
});

/** Every order credited to the campaign, by customer and order. */
export async function creditedPurchases(
  database: Database,
  campaignId: number,
  options: AttributionOptions = {},
): Promise<CreditedPurchase[]> {
  const { rule, asOf } = optionsOf(options);
  const { rows } = await withoutJit(database, (db) =>
    sql<{
      customer_id: number;
      order_id: number;
      variant: string | null;
      ordered_at: Date;
      credited_at: Date;
      revenue: string;
      cost_of_goods: string;
      lines_without_cost: number;
    }>`${creditedOrdersSql(campaignId, rule, asOf)}
select customer_id, order_id, variant, ordered_at, credited_at, revenue::numeric(14, 2) as revenue,
       cost_of_goods::numeric(14, 2) as cost_of_goods, lines_without_cost::int as lines_without_cost
from per_order order by customer_id, order_id`.execute(db),
  );
  return rows.map((row) => ({
    customerId: Number(row.customer_id),
    orderId: Number(row.order_id),
    variant: row.variant,
    orderedAt: new Date(row.ordered_at),
    creditedTouchAt: new Date(row.credited_at),
    revenue: row.revenue,
    costOfGoods: row.cost_of_goods,
    linesWithoutCost: Number(row.lines_without_cost),
  }));
}

/** The credited purchases summed per arm (variant, or null for the holdout). Arms without any are absent. */
export async function attributionByArm(
  database: Database,
  campaignId: number,
  options: AttributionOptions = {},
): Promise<ArmAttribution[]> {
  const { rule, asOf } = optionsOf(options);
  const { rows } = await withoutJit(database, (db) =>
    sql<{
      variant: string | null;
      responders: number;
      purchases: number;
      revenue: string;
      revenue_sum_of_squares: number;
      cost_of_goods: string;
      lines_without_cost: number;
    }>`${creditedOrdersSql(campaignId, rule, asOf)},
per_customer as (
  select customer_id, variant, count(*) as purchases, sum(revenue) as revenue, sum(cost_of_goods) as cost_of_goods,
         sum(lines_without_cost) as lines_without_cost
  from per_order group by customer_id, variant
)
select variant, count(*)::int as responders, sum(purchases)::int as purchases,
       sum(revenue)::numeric(14, 2) as revenue,
       sum(revenue::float8 * revenue::float8)::float8 as revenue_sum_of_squares,
       sum(cost_of_goods)::numeric(14, 2) as cost_of_goods, sum(lines_without_cost)::int as lines_without_cost
from per_customer group by variant order by variant nulls first`.execute(db),
  );
  return rows.map((row) => ({
    variant: row.variant,
    responders: Number(row.responders),
    purchases: Number(row.purchases),
    revenue: row.revenue,
    revenueSumOfSquares: Number(row.revenue_sum_of_squares),
    costOfGoods: row.cost_of_goods,
    linesWithoutCost: Number(row.lines_without_cost),
  }));
}
