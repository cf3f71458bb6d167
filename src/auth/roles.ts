import type { Role } from '../db/index.ts';

export const ROLES = [
  'owner',
  'manager',
  'marketer',
  'store_staff',
  'service_agent',
] as const satisfies readonly Role[];

/**
 * What a caller may do. A route names the one permission it needs; a role is a set of permissions.
 * Which customers a caller may see is a second, separate limit: the stores of the account (store scope).
 */
export const PERMISSIONS = [
  'customers:read', // identity, timeline, 360, search
  'customers:write', // create and update customers, consents
  'customers:merge',
  'customers:export', // data-subject access: everything about one customer as JSON
  'customers:erase', // the right to be forgotten
  'notes:write', // the preference notebook
  'orders:write', // the POS / e-shop path
  'catalog:read', // products and stores
  'catalog:write',
  'touches:write',
  'interactions:write',
  'reports:read', // analytics reports, CLV figures
  'analytics:run', // refresh measures
  'segments:write', // save segments, snapshot their members
  'campaigns:write', // create campaigns, preview their audience and exclusions
  'campaigns:send', // send a campaign (touches customers; costs money on letters and calls)
  'service:manage', // SLA policies, business-hours calendars, teams, escalations
  'staff:manage', // accounts, roles, stores, passwords, API tokens
  'settings:manage',
  'audit:read',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

const ALL: readonly Permission[] = PERMISSIONS;

/** The role matrix. Documented in docs/accounts.md; change both together. */
export const ROLE_PERMISSIONS: Record<Role, readonly Permission[]> = {
  owner: ALL,
  manager: ALL.filter(
    (p) => !['staff:manage', 'settings:manage', 'audit:read', 'customers:erase'].includes(p),
  ),
  marketer: [
    'customers:read',
    'catalog:read',
    'touches:write',
    'reports:read',
    'analytics:run',
    'segments:write',
    'campaigns:write',
    'campaigns:send',
  ],
  store_staff: [
    'customers:read',
    'customers:write',
    'notes:write',
    'orders:write',
    'catalog:read',
    'interactions:write',
  ],
  service_agent: ['customers:read', 'customers:write', 'notes:write', 'catalog:read', 'interactions:write'],
};

export function roleCan(role: Role, permission: Permission): boolean {
  return ROLE_PERMISSIONS[role].includes(permission);
}

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}
