import { type Kysely, sql } from 'kysely';

/**
 * The cut points a month's tiers and F / M scores are taken against (issue #4): the first refresh (or tier
 * snapshot) whose as-of day falls in a month computes them from the buyers as of that day and keeps them
 * here; every later refresh of the same month, full or incremental, and the month's snapshot use them
 * again (the recency points still follow the as-of day). So within a month a customer's tier and F / M
 * scores change only with their own orders or when a day passes a lapse or a new-customer window, and a
 * day's incremental refresh needs no pass over every customer. `kizuna analytics refresh --recut`
 * computes them afresh. Keyed by the settings (their JSON) too: other weights or shares, other cut points.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
create table measures_cut_points (
  month date not null,
  settings text not null,
  as_of date not null,
  cut_points jsonb not null,
  computed_at timestamptz not null default now(),
  primary key (month, settings),
  check (month = date_trunc('month', month)::date)
);
`.execute(db);
}
