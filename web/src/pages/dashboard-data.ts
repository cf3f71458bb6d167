import { api, ok } from '../api/client';
import type { paths } from '../api/schema';

export const TIER_ORDER = ['loyal', 'semi_loyal', 'regular', 'new', 'lapsed'] as const;

/** GET /api/dashboard's answer, typed from the server's response schema (OpenAPI). */
export type Dashboard = paths['/api/dashboard']['get']['responses'][200]['content']['application/json'];

/** Every dashboard figure in one call (figures of the caller's stores when the account has some). */
export function loadDashboard(): Promise<Dashboard> {
  return ok<Dashboard>(api.GET('/api/dashboard'));
}
