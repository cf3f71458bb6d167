import { sql } from 'kysely';
import type { Database } from '../../db/index.ts';

export type AcquisitionOptions = {
  /** How many referrers to list (default 20). */
  top?: number;
};

export type SourceRow = {
  /** The customer's acquisition source; null when unknown. */
  source: string | null;
  customers: number;
  /** Customers with at least one order. */
  buyers: number;
  /** Their order totals (exact decimal string). */
  revenue: string;
  /** revenue / customers, rounded to 2 decimals. */
  revenuePerCustomer: string;
};

export type ReferrerRow = {
  customerId: number;
  externalId: string | null;
  name: string | null;
  referred: number;
  /** Referred customers with at least one order. */
  referredBuyers: number;
  /** What the referred customers bought (order totals). */
  referredRevenue: string;
};

export type AcquisitionReport = { sources: SourceRow[]; referrers: ReferrerRow[] };

/** Customers and revenue by acquisition source, and the customers who referred the most valuable others. */
export async function acquisitionReport(
  database: Database,
  options: AcquisitionOptions = {},
): Promise<AcquisitionReport> {
  const top = Math.max(0, Math.round(options.top ?? 20));
  // One row: one acquisition source with its customers, those who bought, and their revenue.
  const sources = await sql<{
    source: string | null;
    customers: number;
    buyers: number;
    revenue: string;
    per_customer: string;
  }>`
    select c.acquisition_source as source, count(*) as customers, count(o.customer_id) as buyers,
           coalesce(sum(o.revenue), 0.00)::text as revenue,
           round(coalesce(sum(o.revenue), 0.00) / count(*), 2)::text as per_customer
    from customers c
    left join (select customer_id, sum(total) as revenue from orders group by customer_id) o
      on o.customer_id = c.id
    group by c.acquisition_source
    order by coalesce(sum(o.revenue), 0.00) desc, c.acquisition_source nulls last`.execute(database.db);
  // One row: one referring customer with the customers they referred and what those bought.
  const referrers = await sql<{
    customer_id: number;
    external_id: string | null;
    name: string | null;
    referred: number;
    buyers: number;
    revenue: string;
  }>`
    select r.id as customer_id, r.external_id, r.name, count(*) as referred, count(o.customer_id) as buyers,
           coalesce(sum(o.revenue), 0.00)::text as revenue
    from customers c
    join customers r on r.id = c.referred_by_customer_id
    left join (select customer_id, sum(total) as revenue from orders group by customer_id) o
      on o.customer_id = c.id
    group by r.id, r.external_id, r.name
    order by coalesce(sum(o.revenue), 0.00) desc, count(*) desc, r.id
    limit ${top}::int`.execute(database.db);
  return {
    sources: sources.rows.map((r) => ({
      source: r.source,
      customers: r.customers,
      buyers: r.buyers,
      revenue: r.revenue,
      revenuePerCustomer: r.per_customer,
    })),
    referrers: referrers.rows.map((r) => ({
      customerId: r.customer_id,
      externalId: r.external_id,
      name: r.name,
      referred: r.referred,
      referredBuyers: r.buyers,
      referredRevenue: r.revenue,
    })),
  };
}
