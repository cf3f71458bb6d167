import type { Database } from '../db/index.ts';
import { KizunaError } from '../errors.ts';
import { rfmReport, tierDistributions, tierShares, tierTransitions } from './measures/index.ts';
import {
  acquisitionReport,
  atRiskCustomers,
  churnReport,
  cohortReport,
  paretoReport,
  profitability,
  repeatDrivers,
} from './reports/index.ts';

export type ReportOptions = { from?: string; to?: string };

/** "As of" for reports that take one: the `to` option, or today. */
const asOf = (options: ReportOptions) => options.to ?? new Date().toISOString().slice(0, 10);

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
  pareto: {
    title: 'Pareto: how much of the revenue the best customers bring',
    run: (database, options) => paretoReport(database, { from: options.from, to: options.to }),
  },
  cohorts: {
    title: 'Acquisition cohorts: active customers and revenue by month since the first purchase',
    run: (database, options) => cohortReport(database, { asOf: options.to }),
  },
  churn: {
    title: 'Churn rate per month',
    run: (database, options) => churnReport(database, { asOf: asOf(options) }),
  },
  'at-risk': {
    title: 'At-risk customers: regulars overdue against their own rhythm',
    run: async (database, options) => ({
      customers: await atRiskCustomers(database, { asOf: asOf(options) }),
    }),
  },
  'repeat-drivers': {
    title: 'Repeat drivers: which first purchases bring customers back',
    run: (database, options) => repeatDrivers(database, { asOf: asOf(options) }),
  },
  profitability: {
    title: 'Customer profitability after product, return, touch and service costs',
    run: (database) => profitability(database),
  },
  sources: { title: 'Acquisition sources and referrers', run: (database) => acquisitionReport(database) },
};
