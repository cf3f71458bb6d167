import { z } from 'zod';
import { refreshMeasures, snapshotTiers } from '../analytics/measures/index.ts';
import { REPORTS } from '../analytics/report-registry.ts';
import { KizunaError } from '../errors.ts';
import type { RouteDoc } from './openapi.ts';
import { allow } from './policy.ts';
import type { RouteModule } from './route-module.ts';
import { parseInput } from './validation.ts';

const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date YYYY-MM-DD');

export const ReportParams = z.object({ name: z.string().max(40) });
export const ReportQuery = z.object({ from: day.optional(), to: day.optional() }).strict();
export const RefreshBody = z
  .object({
    asOf: day.optional(),
    snapshotsFrom: day.optional(),
    /** Recompute everyone from the orders; by default the refresh is incremental when it can be. */
    full: z.boolean().optional(),
    /** Compute the as-of month's cut points afresh from today's buyers instead of those fixed by its first refresh. */
    recut: z.boolean().optional(),
  })
  .strict()
  .default({});

/** Relationship analytics: refresh the measures, and every report as JSON for the web app's charts. */
export const analyticsRoutes: RouteModule = (app, { database }) => {
  app.post('/api/analytics/refresh', allow('analytics:run'), async (request) => {
    const body = parseInput(RefreshBody, request.body ?? {});
    const asOf = body.asOf ?? new Date().toISOString().slice(0, 10);
    const result = await refreshMeasures(database, { asOf, full: body.full, recut: body.recut });
    const snapshots = body.snapshotsFrom
      ? await snapshotTiers(database, { from: body.snapshotsFrom, to: asOf })
      : null;
    return { ...result, snapshots };
  });

  app.get('/api/reports/:name', allow('reports:read'), async (request) => {
    const { name } = parseInput(ReportParams, request.params);
    const report = REPORTS[name];
    if (!report) {
      throw new KizunaError(
        'unknown_report',
        `No report '${name}'; reports: ${Object.keys(REPORTS).join(', ')}`,
        {
          field: 'name',
          status: 404,
        },
      );
    }
    return report.run(database, parseInput(ReportQuery, request.query));
  });
};

export const analyticsRouteDocs: RouteDoc[] = [
  {
    method: 'POST',
    path: '/api/analytics/refresh',
    tag: 'analytics',
    summary:
      'Recompute every customer’s measures (RFM, tier, spend, margin…) as of a date; optionally snapshot tiers per month end.',
    description:
      'Incremental (only customers whose orders or returns changed are re-read) when the last refresh used the same settings and an `asOf` no later than this one; `full: true` forces a full recompute. F / M scores and tiers are taken against the cut points of the as-of month, fixed by its first refresh (recency follows the day); `recut: true` computes them afresh from the buyers as of `asOf`. `mode` and `reason` say which ran.',
    body: RefreshBody,
    responses: {
      200: '{asOf, mode, reason, cutPointsAsOf, customers, withPurchases, recomputed, written, steps, seconds, snapshots}',
      400: 'invalid date',
    },
  },
  {
    method: 'GET',
    path: '/api/reports/:name',
    tag: 'analytics',
    summary: `A report as JSON: ${Object.keys(REPORTS).join(', ')}.`,
    description:
      '`transitions` needs `from` and `to` (month ends); `distributions` takes `to` (a month end).',
    params: ReportParams,
    query: ReportQuery,
    responses: { 200: 'the report', 400: 'invalid parameters', 404: 'no such report' },
  },
];
