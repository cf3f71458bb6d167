import { type RawBuilder, sql } from 'kysely';
import type { MeasuresSettings } from './settings.ts';

/** The columns measuresSelect returns, in order: the columns of customer_measures it fills. */
export const MEASURE_COLUMNS = [
  'customer_id',
  'as_of',
  'first_purchase_at',
  'last_purchase_at',
  'orders_count',
  'purchase_days',
  'tenure_days',
  'total_spend',
  'average_order_value',
  'gross_margin',
  'returns_amount',
  'recency_days',
  'r_score',
  'f_score',
  'm_score',
  'rfm_cell',
  'rfm_group',
  'tier',
  'tier_rank',
] as const;

/** 1 + the number of cut points the value reaches: higher frequency or spend scores higher. */
function upwardScore(value: RawBuilder<unknown>, points: readonly (string | number)[]): RawBuilder<number> {
  const steps = points.map((p) => sql`(case when ${value} >= ${String(p)}::numeric then 1 else 0 end)`);
  return sql<number>`(1 + ${sql.join(steps, sql` + `)})`;
}

/** 5 − the number of cut points the recency exceeds: a recent purchase scores higher. */
function recencyScore(points: readonly number[]): RawBuilder<number> {
  const steps = points.map((p) => sql`(case when s.recency_days > ${p}::int then 1 else 0 end)`);
  return sql<number>`(5 - ${sql.join(steps, sql` - `)})`;
}

/**
 * The named RFM groups, first match wins:
 * champions R≥4 F≥4 M≥4; new F=1 R≥4; at_risk R≤2 F≥3; hibernating R≤2 (F≤2); loyal F≥4 (R≥3);
 * promising R≥4 (F 2–3); need_attention: the rest (R=3, F≤3).
 */
export const RFM_GROUPS = [
  'champions',
  'new',
  'at_risk',
  'hibernating',
  'loyal',
  'promising',
  'need_attention',
] as const;
export type RfmGroup = (typeof RFM_GROUPS)[number];

const rfmGroup = sql<RfmGroup>`case
  when sc.customer_id is null then null
  when sc.r_score >= 4 and sc.f_score >= 4 and sc.m_score >= 4 then 'champions'
  when sc.f_score = 1 and sc.r_score >= 4 then 'new'
  when sc.r_score <= 2 and sc.f_score >= 3 then 'at_risk'
  when sc.r_score <= 2 then 'hibernating'
  when sc.f_score >= 4 then 'loyal'
  when sc.r_score >= 4 then 'promising'
  else 'need_attention' end`;

/** The per-customer base measures: they change only when the customer's orders, lines or returns change. */
export const BASE_COLUMNS = [
  'customer_id',
  'first_purchase_at',
  'last_purchase_at',
  'orders_count',
  'purchase_days',
  'total_spend',
  'average_order_value',
  'gross_margin',
  'returns_amount',
] as const;

/**
 * One row per unmerged customer (BASE_COLUMNS): their purchases, spend, margin and returns up to the end
 * of `asOf` (UTC) from the raw orders, lines, products and returns. With `only`, just the customers listed
 * in that table (a column customer_id): the incremental refresh's changed customers. Customers without a
 * purchase come with zeros and null dates.
 */
export function baseSelect(asOf: string, only?: string): RawBuilder<unknown> {
  const scope = (alias: string) =>
    only ? sql`join ${sql.table(only)} d on d.customer_id = ${sql.ref(`${alias}.customer_id`)}` : sql``;
  const customerScope = only ? sql`join ${sql.table(only)} d on d.customer_id = c.id` : sql``;
  return sql`
    with bounds as (
      select (${asOf}::date + 1)::timestamp at time zone 'UTC' as until
    ), purchases as (
      -- one row: a customer's orders up to the as-of day summarised
      select o.customer_id, min(o.ordered_at) as first_at, max(o.ordered_at) as last_at,
             count(*)::int as orders_count,
             count(distinct (o.ordered_at at time zone 'UTC')::date)::int as purchase_days,
             sum(o.total) as total_spend
      from orders o ${scope('o')} cross join bounds b where o.ordered_at < b.until
      group by o.customer_id
    ), margins as (
      -- one row: a customer's margin on the lines whose product cost is known (the others are left out)
      select l.customer_id, sum(l.amount - l.quantity * p.unit_cost) as gross_margin
      from order_lines l ${scope('l')}
      join orders o on o.customer_id = l.customer_id and o.id = l.order_id
      join products p on p.id = l.product_id cross join bounds b
      where o.ordered_at < b.until and p.unit_cost is not null
      group by l.customer_id
    ), refunds as (
      select r.customer_id, sum(r.amount) as returns_amount
      from returns r ${scope('r')} cross join bounds b where r.returned_at < b.until
      group by r.customer_id
    )
    select c.id as customer_id, p.first_at as first_purchase_at, p.last_at as last_purchase_at,
           coalesce(p.orders_count, 0) as orders_count, coalesce(p.purchase_days, 0) as purchase_days,
           coalesce(p.total_spend, 0)::numeric(14, 2) as total_spend,
           round(p.total_spend / p.orders_count, 2)::numeric(14, 2) as average_order_value,
           coalesce(mg.gross_margin, 0)::numeric(14, 2) as gross_margin,
           coalesce(rf.returns_amount, 0)::numeric(14, 2) as returns_amount
    from customers c ${customerScope}
    left join purchases p on p.customer_id = c.id
    left join margins mg on mg.customer_id = c.id
    left join refunds rf on rf.customer_id = c.id
    where c.merged_into_customer_id is null`;
}

/**
 * One row per customer (MEASURE_COLUMNS) from a relation of base measures (BASE_COLUMNS, every customer
 * once): the as-of arithmetic (tenure, recency), the RFM scores and the tiers, which rank customers against
 * each other. It reads nothing but `base`, so the incremental refresh can feed it the stored base measures
 * of unchanged customers and fresh ones for the changed, and get what a full refresh gets. Ties in every
 * ranking are broken by customer_id, so both engines agree; money is ranked as exact integer cents.
 */
export function rankedSelect(
  base: RawBuilder<unknown>,
  asOf: string,
  settings: MeasuresSettings,
): RawBuilder<unknown> {
  const { rfm, tiers } = settings;
  const r = rfm
    ? recencyScore(rfm.recencyDays)
    : sql`ntile(5) over (order by s.recency_days desc, s.customer_id)`;
  const f = rfm
    ? upwardScore(sql`s.orders_count`, rfm.frequency)
    : sql`ntile(5) over (order by s.orders_count, s.customer_id)`;
  const m = rfm
    ? upwardScore(sql`s.total_spend`, rfm.monetary)
    : sql`ntile(5) over (order by s.cents, s.customer_id)`;
  const w = tiers.weights;
  return sql`
    with input as (
      select * from (${base}) i
    ), base as (
      -- one row per customer, purchases or not
      select i.*, ${asOf}::date as as_of,
             ${asOf}::date - (i.first_purchase_at at time zone 'UTC')::date as tenure_days,
             ${asOf}::date - (i.last_purchase_at at time zone 'UTC')::date as recency_days,
             (i.total_spend * 100)::int8 as cents
      from input i
    ), scored as (
      -- one row per customer with a purchase: the three scores
      select s.customer_id, ${r} as r_score, ${f} as f_score, ${m} as m_score
      from base s where s.orders_count > 0
    ), composite as (
      -- one row per active customer (a purchase within lapsedDays): the composite loyalty score
      select s.customer_id, s.cents,
             ${w.spend}::float8 * percent_rank() over (order by s.cents)
           + ${w.tenure}::float8 * percent_rank() over (order by s.tenure_days)
           + ${w.repeat}::float8 * percent_rank() over (order by s.orders_count) as score
      from base s where s.orders_count > 0 and s.recency_days < ${tiers.lapsedDays}::int
    ), ranked as (
      select c.customer_id,
             row_number() over (order by c.score desc, c.cents desc, c.customer_id)::int as tier_rank,
             count(*) over () as active
      from composite c
    )
    select s.customer_id, s.as_of, s.first_purchase_at, s.last_purchase_at,
           s.orders_count, s.purchase_days, s.tenure_days, s.total_spend, s.average_order_value,
           s.gross_margin, s.returns_amount, s.recency_days,
           sc.r_score::smallint as r_score, sc.f_score::smallint as f_score, sc.m_score::smallint as m_score,
           sc.r_score::text || sc.f_score::text || sc.m_score::text as rfm_cell,
           ${rfmGroup} as rfm_group,
           case
             when s.orders_count = 0 then null
             when k.customer_id is null then 'lapsed'
             when k.tier_rank <= round(${tiers.loyalShare}::numeric * k.active) then 'loyal'
             when k.tier_rank <= round((${tiers.loyalShare}::numeric + ${tiers.semiLoyalShare}::numeric) * k.active) then 'semi_loyal'
             when s.tenure_days < ${tiers.newDays}::int then 'new'
             else 'regular'
           end as tier,
           k.tier_rank
    from base s
    left join scored sc on sc.customer_id = s.customer_id
    left join ranked k on k.customer_id = s.customer_id`;
}

/**
 * One row per (unmerged) customer: their measures as of the end of `asOf` (UTC), computed from the raw
 * orders, lines, products and returns — what a full refresh stores and every tier snapshot uses.
 */
export function measuresSelect(asOf: string, settings: MeasuresSettings): RawBuilder<unknown> {
  return rankedSelect(baseSelect(asOf), asOf, settings);
}
