import { fitClv, predictClv } from '../analytics/clv/index.ts';
import { refreshMeasures, snapshotTiers } from '../analytics/measures/index.ts';
import type { Database } from '../db/index.ts';
import type { ImportResult } from '../importer/index.ts';
import { DEFAULT_AS_OF } from './index.ts';
import { type DemoLoadProgress, loadDemo } from './load-demo.ts';

export type MeasuredDemo = {
  imports: ImportResult[];
  asOf: string;
  /** Customers measured by the refresh. */
  customers: number;
  /** Sum of the predicted lifetime values. */
  equity: number;
};

/**
 * The demo retailer (seed 1) as `kizuna serve --demo-if-empty` shows it: loaded through the importer, then
 * measured as of the demo's last day, so tiers, RFM and lifetime values are there from the first page on,
 * with month-end tier snapshots of the year before (the dashboard's "loyal share by month" trend).
 */
export async function loadMeasuredDemo(
  database: Database,
  customers: number,
  onProgress?: (progress: DemoLoadProgress) => void,
): Promise<MeasuredDemo> {
  const imports = await loadDemo(database, { customers, seed: 1 }, onProgress);
  const asOf = DEFAULT_AS_OF.toISOString().slice(0, 10);
  onProgress?.({ kind: 'measures, tier snapshots, lifetime values', rows: 0 });
  const measures = await refreshMeasures(database, { asOf });
  const yearBefore = new Date(DEFAULT_AS_OF);
  yearBefore.setUTCFullYear(yearBefore.getUTCFullYear() - 1);
  await snapshotTiers(database, { from: yearBefore.toISOString().slice(0, 10), to: asOf });
  await fitClv(database, { calibrationEnd: asOf });
  const clv = await predictClv(database);
  return { imports, asOf, customers: measures.customers, equity: clv.equity };
}
