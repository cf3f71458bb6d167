import { z } from 'zod';
import {
  createApiToken,
  createStaffAccount,
  listApiTokens,
  listStaffAccounts,
  MAX_AUDIT_LIMIT,
  queryAudit,
  ROLES,
  readSettings,
  revokeApiToken,
  SettingsPatch,
  setStaffPassword,
  updateSettings,
  updateStaffAccount,
} from '../auth/index.ts';
import { generatePassword } from '../auth/secrets.ts';
import type { RouteDoc } from './openapi.ts';
import { actorOf, allow } from './policy.ts';
import type { RouteModule } from './route-module.ts';
import { publicAccount } from './session.routes.ts';
import { parseInput } from './validation.ts';

const IdParams = z.object({
  id: z
    .string()
    .regex(/^[1-9]\d{0,15}$/, 'must be a positive id')
    .transform(Number),
});
const storeIds = z.array(z.number().int().positive()).max(1000);

export const StaffCreateBody = z.object({
  code: z
    .string()
    .trim()
    .min(1)
    .max(50)
    .regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . - only'),
  name: z.string().trim().min(1).max(200),
  email: z.email().max(254).nullable().optional(),
  role: z.enum(ROLES),
  storeId: z.number().int().positive().nullable().optional(),
  storeIds: storeIds.optional(),
  allStores: z.boolean().optional(),
  password: z.string().max(1024).optional().describe('omit to generate a one-time password'),
});

export const StaffPatchBody = z
  .object({
    name: z.string().trim().min(1).max(200),
    email: z.email().max(254).nullable(),
    role: z.enum(ROLES),
    storeId: z.number().int().positive().nullable(),
    storeIds,
    allStores: z.boolean(),
    disabled: z.boolean(),
  })
  .partial();

export const PasswordResetBody = z.object({
  password: z.string().max(1024).optional().describe('omit to generate a one-time password'),
});

export const TokenCreateBody = z.object({
  name: z.string().trim().min(1).max(100),
  role: z.enum(ROLES),
  storeIds: storeIds.optional(),
  allStores: z.boolean().optional(),
});

const intParam = z
  .string()
  .regex(/^\d{1,15}$/, 'must be a whole number')
  .transform(Number);
export const AuditQueryParams = z.object({
  customerId: intParam.optional(),
  staffId: intParam.optional(),
  action: z.string().max(200).optional(),
  outcome: z.enum(['ok', 'denied', 'failed']).optional(),
  from: z.iso
    .datetime({ offset: true })
    .transform((v) => new Date(v))
    .optional(),
  to: z.iso
    .datetime({ offset: true })
    .transform((v) => new Date(v))
    .optional(),
  limit: intParam.pipe(z.number().int().min(1).max(MAX_AUDIT_LIMIT)).optional(),
  beforeId: intParam.optional(),
});

/** Staff accounts, API tokens, the audit log and the owner's settings. */
export const accountRoutes: RouteModule = (app, { database }) => {
  app.get('/api/staff', allow('staff:manage'), async () => ({
    staff: (await listStaffAccounts(database)).map((a) => ({
      ...publicAccount(a),
      canSignIn: a.canSignIn,
      disabled: a.disabled,
      lockedUntil: a.lockedUntil,
      lastLoginAt: a.lastLoginAt,
    })),
  }));

  app.post('/api/staff', allow('staff:manage'), async (request, reply) => {
    const body = parseInput(StaffCreateBody, request.body);
    const oneTime = body.password === undefined ? generatePassword() : undefined;
    const account = await createStaffAccount(database, {
      ...body,
      password: body.password ?? oneTime,
      mustChangePassword: oneTime !== undefined,
    });
    request.audit.target = `staff:${account.id}`;
    reply.status(201);
    return { staff: publicAccount(account), oneTimePassword: oneTime ?? null };
  });

  app.patch('/api/staff/:id', allow('staff:manage'), async (request) => {
    const { id } = parseInput(IdParams, request.params);
    const patch = parseInput(StaffPatchBody, request.body);
    request.audit.detail = { fields: Object.keys(patch) };
    return { staff: publicAccount(await updateStaffAccount(database, id, patch)) };
  });

  app.post('/api/staff/:id/password', allow('staff:manage'), async (request) => {
    const { id } = parseInput(IdParams, request.params);
    const body = parseInput(PasswordResetBody, request.body ?? {});
    const oneTime = body.password === undefined ? generatePassword() : undefined;
    await setStaffPassword(database, id, body.password ?? oneTime!, { mustChange: oneTime !== undefined });
    return { reset: true, oneTimePassword: oneTime ?? null };
  });

  app.get('/api/tokens', allow('staff:manage'), async () => ({ tokens: await listApiTokens(database) }));

  app.post('/api/tokens', allow('staff:manage'), async (request, reply) => {
    const body = parseInput(TokenCreateBody, request.body);
    const created = await createApiToken(database, { ...body, createdByStaffId: actorOf(request).staffId });
    request.audit.target = `token:${created.apiToken.id}`;
    reply.status(201);
    return { token: created.token, apiToken: created.apiToken };
  });

  app.delete('/api/tokens/:id', allow('staff:manage'), async (request) => {
    const { id } = parseInput(IdParams, request.params);
    return { apiToken: await revokeApiToken(database, id) };
  });

  app.get('/api/audit', allow('audit:read'), async (request) =>
    queryAudit(database, parseInput(AuditQueryParams, request.query)),
  );

  app.get('/api/settings', allow('settings:manage'), async () => readSettings(database));

  app.patch('/api/settings', allow('settings:manage'), async (request) => {
    const patch = parseInput(SettingsPatch, request.body);
    return updateSettings(database, patch, actorOf(request).staffId);
  });
};

export const accountRouteDocs: RouteDoc[] = [
  {
    method: 'GET',
    path: '/api/staff',
    tag: 'accounts',
    summary: 'Staff accounts with role, stores, and sign-in state.',
    responses: { 200: '{staff}', 403: 'owner only' },
  },
  {
    method: 'POST',
    path: '/api/staff',
    tag: 'accounts',
    summary:
      'Create a staff account. Without a password, a one-time password is generated and returned once.',
    body: StaffCreateBody,
    responses: { 201: '{staff, oneTimePassword}', 400: 'invalid field', 409: 'code or e-mail taken' },
  },
  {
    method: 'PATCH',
    path: '/api/staff/:id',
    tag: 'accounts',
    summary:
      'Change role, stores, name, e-mail, or disable an account. Ends its sessions when access changes.',
    params: IdParams,
    body: StaffPatchBody,
    responses: { 200: '{staff}', 404: 'no such staff member', 409: 'would leave no owner' },
  },
  {
    method: 'POST',
    path: '/api/staff/:id/password',
    tag: 'accounts',
    summary:
      'Set or reset a password (also unlocks a locked account). Without one, a one-time password is returned.',
    params: IdParams,
    body: PasswordResetBody,
    responses: { 200: '{reset, oneTimePassword}', 404: 'no such staff member' },
  },
  {
    method: 'GET',
    path: '/api/tokens',
    tag: 'accounts',
    summary: 'API tokens (never the secrets): name, prefix, role, stores, last use, revocation.',
    responses: { 200: '{tokens}' },
  },
  {
    method: 'POST',
    path: '/api/tokens',
    tag: 'accounts',
    summary: 'Create an API token for an integration (POS, e-shop). The token is shown once.',
    description: 'Send it as `Authorization: Bearer kz_…`. It acts with its role over its stores.',
    body: TokenCreateBody,
    responses: { 201: '{token, apiToken}', 400: 'invalid field' },
  },
  {
    method: 'DELETE',
    path: '/api/tokens/:id',
    tag: 'accounts',
    summary: 'Revoke an API token; it stops working at once.',
    params: IdParams,
    responses: { 200: '{apiToken}', 404: 'no such active token' },
  },
  {
    method: 'GET',
    path: '/api/audit',
    tag: 'accounts',
    summary:
      'The audit log, newest first: who did what, to which customer, when, from where, with what outcome.',
    query: AuditQueryParams,
    responses: { 200: '{entries, hasMore}', 403: 'owner only' },
  },
  {
    method: 'GET',
    path: '/api/settings',
    tag: 'accounts',
    summary: "The owner's access rules (e.g. which roles may not read complaint texts).",
    responses: { 200: 'the settings' },
  },
  {
    method: 'PATCH',
    path: '/api/settings',
    tag: 'accounts',
    summary: "Change the owner's access rules.",
    body: SettingsPatch,
    responses: { 200: 'the settings', 400: 'invalid field' },
  },
];
