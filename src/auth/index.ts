export {
  actorOf,
  createStaffAccount,
  endSession,
  ensureOwnerAccount,
  findStaff,
  getStaffAccount,
  LOCKOUT_AFTER_FAILURES,
  LOCKOUT_MINUTES,
  listStaffAccounts,
  pruneSessions,
  resumeSession,
  SESSION_IDLE_HOURS,
  type SessionInfo,
  type SignIn,
  type SignInFailure,
  type StaffAccount,
  type StaffAccountInput,
  type StaffAccountPatch,
  setStaffPassword,
  signIn,
  updateStaffAccount,
  verifyCredentials,
} from './accounts.ts';
export {
  type Actor,
  CLI_ACTOR,
  customerInStores,
  ForbiddenError,
  requireCustomerInScope,
  requirePermission,
} from './actor.ts';
export {
  type AuditEntry,
  type AuditQuery,
  type AuditRow,
  MAX_AUDIT_LIMIT,
  queryAudit,
  recordAudit,
} from './audit.ts';
export { isRole, PERMISSIONS, type Permission, ROLE_PERMISSIONS, ROLES, roleCan } from './roles.ts';
export { checkPasswordStrength, MIN_PASSWORD_LENGTH, sameSecret } from './secrets.ts';
export {
  canReadComplaintText,
  readSettings,
  readSettingValue,
  type Settings,
  SettingsPatch,
  updateSettings,
  writeSettingValue,
} from './settings.ts';
export { type LinkPayload, signLink, verifyLink } from './signed-links.ts';
export {
  type ApiToken,
  type ApiTokenInput,
  createApiToken,
  listApiTokens,
  revokeApiToken,
  TOKEN_PREFIX,
  tokenActor,
} from './tokens.ts';
