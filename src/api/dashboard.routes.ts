import { z } from 'zod';
import { dashboard } from '../analytics/dashboard.ts';
import { ForbiddenError } from '../auth/index.ts';
import type { RouteDoc } from './openapi.ts';
import { actorOf, allow } from './policy.ts';
import type { RouteModule } from './route-module.ts';
import { parseInput } from './validation.ts';

export const DashboardQuery = z.strictObject({
  asOf: z.iso
    .date()
    .optional()
    .describe('the last day counted (UTC); default: the as-of day of the last measures refresh, or today'),
  storeId: z.coerce
    .number()
    .int()
    .positive()
    .optional()
    .describe('one store: its orders and its (home store) customers only'),
  fresh: z
    .enum(['true', 'false'])
    .optional()
    .describe('true: compute now rather than serve the figures computed in the last minutes'),
});

const money = z.string().describe('exact decimal, e.g. "12345.00"');
const share = z.number().nullable().describe('0–1; null when the base is empty');
const tiers = z.enum(['loyal', 'semi_loyal', 'regular', 'new', 'lapsed']);
const tierFigure = {
  tier: tiers,
  customers: z.number().int(),
  customerShare: z.number(),
  revenue: money,
  revenueShare: z.number(),
};
const timestamp = z.string().describe('ISO 8601 time');

/** The answer of GET /api/dashboard (documentation and typed clients; src/analytics/dashboard.ts). */
export const DashboardResponse = z.object({
  asOf: z.string(),
  computedAt: timestamp,
  stale: z.boolean().describe('the data changed since computedAt; newer figures are being computed'),
  storeIds: z.array(z.number().int()).nullable(),
  windowStart: z.string().describe('first day of "the last 12 months"'),
  measures: z.object({ asOf: z.string(), mode: z.string(), finishedAt: timestamp }).nullable(),
  customers: z.object({ total: z.number().int(), active: z.number().int(), newThisMonth: z.number().int() }),
  revenue: z.object({
    thisMonth: money,
    last12Months: money,
    byMonth: z.array(
      z.object({ month: z.string(), revenue: money, orders: z.number().int(), customers: z.number().int() }),
    ),
  }),
  pareto: z.object({
    customers: z.number().int(),
    revenue: money,
    curve: z.array(z.object({ customerShare: z.number(), revenueShare: z.number() })),
    topShares: z.object({ top1: share, top5: share, top10: share, top20: share }),
    customersFor80PercentOfRevenue: share,
  }),
  tiers: z.object({
    now: z.array(z.object({ ...tierFigure, revenueLast12Months: money })),
    trend: z.array(z.object({ periodEnd: z.string(), tiers: z.array(z.object(tierFigure)) })),
    transitions: z
      .object({
        from: z.string(),
        to: z.string(),
        byTier: z.array(
          z.object({
            tier: tiers,
            customers: z.number().int(),
            movedUp: z.number().int(),
            fell: z.number().int(),
            stayed: z.number().int(),
          }),
        ),
        movedUp: z.number().int(),
        fell: z.number().int(),
        stayed: z.number().int(),
        joined: z.number().int(),
        matrix: z.array(
          z.object({
            from: z.union([tiers, z.literal('none')]),
            to: z.union([tiers, z.literal('none')]),
            customers: z.number().int(),
          }),
        ),
      })
      .nullable(),
  }),
  atRisk: z.object({ customers: z.number().int() }),
  equity: z.object({
    customers: z.number().int(),
    equity: money,
    computedAt: timestamp.nullable(),
    previous: z.object({ equity: money, computedAt: timestamp }).nullable(),
    change: money.nullable(),
  }),
});

/**
 * The dashboard in one call. A caller limited to some stores sees their stores' figures (all of them
 * together, or one with storeId); naming a store outside their scope is refused.
 */
export const dashboardRoutes: RouteModule = (app, { database }) => {
  app.get('/api/dashboard', allow('reports:read'), async (request) => {
    const query = parseInput(DashboardQuery, request.query);
    const actor = actorOf(request);
    if (query.storeId !== undefined && actor.storeIds !== null && !actor.storeIds.includes(query.storeId)) {
      throw new ForbiddenError(`store ${query.storeId} is not one of your stores`, 'store_out_of_scope');
    }
    const storeIds = query.storeId !== undefined ? [query.storeId] : (actor.storeIds ?? undefined);
    return dashboard(database, { asOf: query.asOf, storeIds, fresh: query.fresh === 'true' });
  });
};

export const dashboardRouteDocs: RouteDoc[] = [
  {
    method: 'GET',
    path: '/api/dashboard',
    tag: 'analytics',
    summary:
      'Every dashboard figure in one call: customers, revenue, Pareto, tiers now / trend / transitions, at-risk, equity.',
    description:
      'Revenue and active / new customers count the orders of the last 12 months up to asOf (the month of asOf and the 11 before); the tiers now and the Pareto curve (lifetime spend) come from the last measures refresh (`measures.asOf`), the tiers’ trend and transitions from the month-end tier snapshots up to asOf, equity from the last CLV valuation. The figures are computed once and served again while the data is unchanged (at most 5 minutes); after a change, figures at most a minute old are served with `stale: true` while new ones are computed (`computedAt`; `fresh=true` computes now). A caller limited to some stores gets those stores’ figures: orders placed there, customers whose home store it is. Definitions: docs/analytics.md, “The dashboard”.',
    query: DashboardQuery,
    response: DashboardResponse,
    responses: {
      200: 'the dashboard',
      400: 'invalid asOf or storeId',
      403: 'your role does not allow reports:read, or the store is not one of yours',
    },
  },
];
