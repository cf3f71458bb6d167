import { sql } from 'kysely';
import type { Database } from '../../db/index.ts';
import { DEFAULT_TIME_ZONE, orderDay, type Share } from './shared.ts';

export type RepeatDriverOptions = {
  /** The last day with data, YYYY-MM-DD. */
  asOf: string;
  timeZone?: string;
};

/** Came back within d days: the share among customers whose first purchase is at least d days before asOf. */
export type ComeBack = { eligible: number; cameBack: number; share: Share };

export type EntryStats = {
  /** Customers whose first purchase day contained this product / category (all customers for the average). */
  customers: number;
  within90: ComeBack;
  within180: ComeBack;
  within365: ComeBack;
  /** Median days from the first purchase day to the next purchase day (of anything), among those who came back by asOf. */
  medianDaysToNext: number | null;
  /** Order totals in the 365 days after the first purchase day, customers with a full year only (exact strings). */
  followingRevenue365: { customers: number; total: string; perCustomer: string | null };
};

export type RepeatInterval = {
  /** Median days between a customer's consecutive purchase days containing this product / category. */
  medianDays: number | null;
  /** How many such gaps there were. */
  gaps: number;
};

export type RepeatDriverRow = EntryStats & {
  category: string;
  /** Against the average over all first purchases: share back within 365 days ÷ the average's (null if undefined). */
  cameBack365Index: number | null;
  /** perCustomer following revenue ÷ the average's. */
  followingRevenueIndex: number | null;
  repurchaseInterval: RepeatInterval;
  /**
   * Median days between re-purchases of the same product within the category (pooled over its products):
   * closer to a replacement cycle when customers also buy other items of the category in between.
   */
  sameProductInterval: RepeatInterval;
};

export type RepeatDriverProductRow = RepeatDriverRow & { productId: number; sku: string; name: string };

export type RepeatDriversReport = {
  asOf: string;
  /** Every customer's first purchase, each customer once. */
  average: EntryStats;
  categories: RepeatDriverRow[];
  products: RepeatDriverProductRow[];
};

type StatsRow = {
  level: 'overall' | 'category' | 'product';
  category: string | null;
  product_id: number | null;
  customers: number;
  e90: number;
  b90: number;
  e180: number;
  b180: number;
  e365: number;
  b365: number;
  median_next: number | null;
  following: string;
  per_customer: string | null;
};

type IntervalRow = {
  level: 'category' | 'product' | 'same_product';
  category: string;
  product_id: number | null;
  median_gap: number | null;
  gaps: number;
};

function comeBack(eligible: number, cameBack: number): ComeBack {
  return { eligible, cameBack, share: eligible > 0 ? cameBack / eligible : null };
}

function entryStats(row: StatsRow): EntryStats {
  return {
    customers: row.customers,
    within90: comeBack(row.e90, row.b90),
    within180: comeBack(row.e180, row.b180),
    within365: comeBack(row.e365, row.b365),
    medianDaysToNext: row.median_next,
    followingRevenue365: { customers: row.e365, total: row.following, perCustomer: row.per_customer },
  };
}

function emptyStats(): StatsRow {
  return {
    level: 'overall',
    category: null,
    product_id: null,
    customers: 0,
    e90: 0,
    b90: 0,
    e180: 0,
    b180: 0,
    e365: 0,
    b365: 0,
    median_next: null,
    following: '0.00',
    per_customer: null,
  };
}

function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  return a == null || b == null || b === 0 ? null : a / b;
}

/**
 * Which products and categories bring customers back: for each one as part of a customer's first
 * purchase day, how many came back (at all, within 90/180/365 days), how soon and what they spent in the
 * following year, against the average first purchase; and how often the product / category itself is
 * bought again by the same customer.
 */
export async function repeatDrivers(
  database: Database,
  options: RepeatDriverOptions,
): Promise<RepeatDriversReport> {
  const timeZone = options.timeZone ?? DEFAULT_TIME_ZONE;
  const asOf = options.asOf;
  const day = orderDay('o', timeZone);
  const base = sql`
    days as (
      select o.customer_id, ${day} as day, sum(o.total) as value
      from orders o where ${day} <= ${asOf}::date group by 1, 2
    ), lines as (
      select distinct l.customer_id, ${day} as day, l.product_id, p.category
      from order_lines l
      join orders o on o.customer_id = l.customer_id and o.id = l.order_id
      join products p on p.id = l.product_id
      where ${day} <= ${asOf}::date
    )`;
  // One row: an entry point (the average over all customers, a category or a product of first purchase
  // days) with its customers, how many could and did come back within 90/180/365 days, the median days
  // to the next purchase day and the revenue of the following 365 days.
  const stats = await sql<StatsRow>`
    with ${base}, cust as (
      select customer_id, first_day,
             min(day) filter (where day > first_day) as next_day,
             coalesce(sum(value) filter (where day > first_day and day <= first_day + 365), 0.00) as following
      from (select d.*, min(d.day) over (partition by d.customer_id) as first_day from days d) x
      group by customer_id, first_day
    ), entries as (
      select 'overall' as level, null::text as category, null::bigint as product_id, customer_id from cust
      union all
      select distinct 'category', l.category, null::bigint, l.customer_id
      from lines l join cust c on c.customer_id = l.customer_id and l.day = c.first_day
      union all
      select distinct 'product', l.category, l.product_id, l.customer_id
      from lines l join cust c on c.customer_id = l.customer_id and l.day = c.first_day
    ), measured as (
      select e.level, e.category, e.product_id, c.first_day, c.next_day, c.following,
             c.first_day <= ${asOf}::date - 90 as e90,
             c.first_day <= ${asOf}::date - 180 as e180,
             c.first_day <= ${asOf}::date - 365 as e365
      from entries e join cust c on c.customer_id = e.customer_id
    )
    select level, category, product_id, count(*) as customers,
           count(*) filter (where e90) as e90,
           count(*) filter (where e90 and next_day <= first_day + 90) as b90,
           count(*) filter (where e180) as e180,
           count(*) filter (where e180 and next_day <= first_day + 180) as b180,
           count(*) filter (where e365) as e365,
           count(*) filter (where e365 and next_day <= first_day + 365) as b365,
           percentile_cont(0.5) within group (order by next_day - first_day) as median_next,
           coalesce(sum(following) filter (where e365), 0.00)::text as following,
           round(avg(following) filter (where e365), 2)::text as per_customer
    from measured
    group by level, category, product_id`.execute(database.db);
  // One row: a category or product with the median gap between a customer's consecutive purchase days
  // containing it (pooled over all customers) and the number of such gaps; level 'same_product' pools,
  // per category, the gaps between re-purchases of the same product (a wearer's own lenses).
  const intervals = await sql<IntervalRow>`
    with ${base}, category_days as (
      select distinct customer_id, category, day from lines
    ), category_gaps as (
      select category, day - lag(day) over (partition by customer_id, category order by day) as gap
      from category_days
    ), product_gaps as (
      select category, product_id, day - lag(day) over (partition by customer_id, product_id order by day) as gap
      from lines
    )
    select 'category' as level, category, null::bigint as product_id,
           percentile_cont(0.5) within group (order by gap) as median_gap, count(gap) as gaps
    from category_gaps group by category
    union all
    select 'product', category, product_id, percentile_cont(0.5) within group (order by gap), count(gap)
    from product_gaps group by category, product_id
    union all
    select 'same_product', category, null::bigint, percentile_cont(0.5) within group (order by gap), count(gap)
    from product_gaps group by category`.execute(database.db);
  const products = await database.db.selectFrom('products').select(['id', 'sku', 'name']).execute();
  const productById = new Map(products.map((p) => [Number(p.id), p]));
  const key = (category: string | null, productId: number | null) => `${category}\u0000${productId ?? ''}`;
  const intervalOf = new Map(
    intervals.rows.filter((r) => r.level !== 'same_product').map((r) => [key(r.category, r.product_id), r]),
  );
  const sameProductOf = new Map(
    intervals.rows.filter((r) => r.level === 'same_product').map((r) => [r.category, r]),
  );
  // Categories and products bought by someone but never on a first purchase day still get a row (with
  // no first buyers) so that every one of them shows its repurchase interval.
  const seen = new Set(stats.rows.map((r) => key(r.category, r.product_id)));
  const statsRows = [...stats.rows];
  for (const r of intervals.rows) {
    if (r.level === 'same_product' || seen.has(key(r.category, r.product_id))) continue;
    statsRows.push({ ...emptyStats(), level: r.level, category: r.category, product_id: r.product_id });
  }
  const overall = stats.rows.find((r) => r.level === 'overall');
  const average = entryStats(overall ?? emptyStats());
  const toRow = (r: StatsRow): RepeatDriverRow => {
    const s = entryStats(r);
    const interval = intervalOf.get(key(r.category, r.product_id));
    // For a product row this is the product's own interval again.
    const same = r.product_id === null ? sameProductOf.get(r.category ?? '') : interval;
    return {
      category: r.category ?? '',
      ...s,
      cameBack365Index: ratio(s.within365.share, average.within365.share),
      followingRevenueIndex: ratio(
        s.followingRevenue365.perCustomer === null ? null : Number(s.followingRevenue365.perCustomer),
        average.followingRevenue365.perCustomer === null
          ? null
          : Number(average.followingRevenue365.perCustomer),
      ),
      repurchaseInterval: { medianDays: interval?.median_gap ?? null, gaps: interval?.gaps ?? 0 },
      sameProductInterval: { medianDays: same?.median_gap ?? null, gaps: same?.gaps ?? 0 },
    };
  };
  const byCustomers = (
    a: { customers: number; category: string },
    b: { customers: number; category: string },
  ) => b.customers - a.customers || a.category.localeCompare(b.category);
  const categories = statsRows
    .filter((r) => r.level === 'category')
    .map(toRow)
    .sort(byCustomers);
  const productRows = statsRows
    .filter((r) => r.level === 'product')
    .map((r) => {
      const product = productById.get(r.product_id ?? -1);
      return {
        ...toRow(r),
        productId: r.product_id ?? 0,
        sku: product?.sku ?? '',
        name: product?.name ?? '',
      };
    })
    .sort((a, b) => byCustomers(a, b) || a.productId - b.productId);
  return { asOf, average, categories, products: productRows };
}
