import type { Database } from '../db/index.ts';
import { KizunaError } from '../errors.ts';
import { rfmReport, tierDistributions, tierShares, tierTransitions } from './measures/index.ts';

export type ReportOptions = { from?: string; to?: string };

/** Every report by name (`kizuna report NAME`, `GET /api/reports/:name`); each is one function of the database. */
export const REPORTS: Record<
  string,
  { title: string; run: (database: Database, options: ReportOptions) => Promise<unknown> }
> = {
  rfm: { title: 'RFM groups and cells (from the last refresh)', run: (database) => rfmReport(database) },
  tiers: {
    title: 'Tier shares per month end (customers and revenue)',
    run: async (database) => ({ shares: await tierShares(database) }),
  },
  transitions: {
    title: 'Tier transitions between two month ends',
    run: async (database, options) => {
      if (!options.from || !options.to) {
        throw new KizunaError(
          'invalid_request',
          'the transitions report needs --from and --to (month ends)',
          { field: 'from' },
        );
      }
      return { transitions: await tierTransitions(database, options.from, options.to) };
    },
  },
  distributions: {
    title: 'Distributions per tier (spend, purchases, tenure)',
    run: async (database, options) =>
      (await tierDistributions(database, options.to)).map((d) => ({
        tier: d.tier,
        measure: d.measure,
        bins: d.bins,
      })),
  },
};
