import { api, ok } from '../api/client';
import type { Equity, ParetoReport } from '../api/types';

export const TIER_ORDER = ['loyal', 'semi_loyal', 'regular', 'new', 'lapsed'] as const;

export type TierShare = {
  periodEnd: string;
  tier: string;
  customers: number;
  customerShare: number;
  revenue: string;
  revenueShare: number;
};
export type Transition = { from: string; to: string; customers: number };

/** What the dashboard shows, whichever way the server gave it. */
export type DashboardView = {
  customers: number;
  revenue: string;
  pareto: { customerShare: number; revenueShare: number }[];
  /** Revenue share of the top 20 % of customers. */
  top20Share: number | null;
  /** Tier shares per month end, oldest first. */
  tierShares: TierShare[];
  latestPeriod: string | null;
  previousPeriod: string | null;
  transitions: Transition[];
  atRisk: number;
  equity: Equity | null;
};

function shareAt(curve: { customerShare: number; revenueShare: number }[], share: number): number | null {
  const point = curve.find((p) => Math.abs(p.customerShare - share) < 1e-9);
  return point ? point.revenueShare : null;
}

/**
 * Until GET /api/dashboard answers, the dashboard is assembled from the report routes (pareto, tiers,
 * transitions, at-risk) and the customer equity, requested in parallel.
 */
export async function loadDashboard(): Promise<DashboardView> {
  const report = <T>(name: string, query?: Record<string, string>) =>
    ok<T>(api.GET('/api/reports/{name}', { params: { path: { name }, query } }));
  const [pareto, tiers, atRisk, equity] = await Promise.all([
    report<ParetoReport>('pareto'),
    report<{ shares: TierShare[] }>('tiers'),
    report<{ customers: unknown[] }>('at-risk'),
    ok<Equity>(api.GET('/api/clv/equity')).catch(() => null),
  ]);
  const periods = [...new Set(tiers.shares.map((s) => s.periodEnd))].sort();
  const latestPeriod = periods.at(-1) ?? null;
  const previousPeriod = periods.at(-2) ?? null;
  const transitions =
    latestPeriod && previousPeriod
      ? (
          await report<{ transitions: Transition[] }>('transitions', {
            from: previousPeriod,
            to: latestPeriod,
          })
        ).transitions
      : [];
  return {
    customers: pareto.customers,
    revenue: pareto.revenue,
    pareto: pareto.curve,
    top20Share: shareAt(pareto.curve, 0.2),
    tierShares: tiers.shares,
    latestPeriod,
    previousPeriod,
    transitions,
    atRisk: atRisk.customers.length,
    equity,
  };
}
