import { sql } from 'kysely';
import type { Database } from '../../db/index.ts';
import { KizunaError } from '../../errors.ts';
import { cutPointsOf, keepMonthCutPoints, monthCutPoints } from './cut-points.ts';
import {
  baseSelect,
  finalSelect,
  histogramSelect,
  inKeyOrder,
  keyedSelect,
  ordersAfter,
} from './measures-sql.ts';
import { asOfDay, type MeasuresSettingsInput, resolveSettings } from './settings.ts';

export type SnapshotOptions = {
  /** The first and last day of the range; every period end inside it (inclusive) gets a snapshot. */
  from: Date | string;
  to: Date | string;
  period?: 'month';
  settings?: MeasuresSettingsInput;
};

export type SnapshotResult = { periods: { periodEnd: string; customers: number }[]; seconds: number };

/** The last day of every month that ends within [from, to], as 'YYYY-MM-DD'. */
export function monthEnds(from: string, to: string): string[] {
  const ends: string[] = [];
  const [year, month] = from.split('-').map(Number) as [number, number];
  for (let i = 0; ; i++) {
    // Day 0 of the next month is the last day of this one.
    const end = new Date(Date.UTC(year, month - 1 + i + 1, 0)).toISOString().slice(0, 10);
    if (end > to) break;
    if (end >= from) ends.push(end);
  }
  return ends;
}

/**
 * Stores every customer's tier as of each month end in the range, with the very definitions the full
 * refresh uses (base measures, the month's cut points, then every row from those; asOf = that day), replacing an earlier snapshot of the same day. Only customers with a purchase
 * by then have a tier, so only they are stored.
 */
export async function snapshotTiers(database: Database, options: SnapshotOptions): Promise<SnapshotResult> {
  const from = asOfDay(options.from);
  const to = asOfDay(options.to);
  if (from > to)
    throw new KizunaError('invalid_range', `the snapshot range ends (${to}) before it starts (${from})`);
  const settings = resolveSettings(options.settings);
  const started = performance.now();
  const periods = await database.transaction(async (tx) => {
    const done: SnapshotResult['periods'] = [];
    for (const periodEnd of monthEnds(from, to)) {
      await sql`delete from tier_snapshots where period_end = ${periodEnd}::date`.execute(tx.db);
      await sql`drop table if exists tier_snapshot_stage`.execute(tx.db);
      const later = await ordersAfter(tx, periodEnd);
      await inKeyOrder(tx, () =>
        sql`create temp table tier_snapshot_stage on commit drop as
          ${keyedSelect(baseSelect(periodEnd, { ordersAfter: later }))}`.execute(tx.db),
      );
      await sql`analyze tier_snapshot_stage`.execute(tx.db);
      const stage = sql`select * from tier_snapshot_stage`;
      // The month's cut points when a refresh (or an earlier snapshot) fixed them, else fixed here.
      const month = await monthCutPoints(tx, periodEnd, settings);
      const cuts = await cutPointsOf(tx, month, stage, histogramSelect(stage), periodEnd, settings);
      if (!month) await keepMonthCutPoints(tx, cuts, settings);
      const inserted = await sql`
        insert into tier_snapshots (period_end, customer_id, tier, total_spend, orders_count, tenure_days)
        select m.as_of, m.customer_id, m.tier, m.total_spend, m.orders_count, m.tenure_days
        from (${finalSelect(stage, settings, cuts)}) m
        where m.tier is not null`.execute(tx.db);
      done.push({ periodEnd, customers: Number(inserted.numAffectedRows ?? 0) });
    }
    return done;
  });
  return { periods, seconds: Number(((performance.now() - started) / 1000).toFixed(3)) };
}
