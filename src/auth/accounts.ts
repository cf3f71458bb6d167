import { sql } from 'kysely';
import type { Database, Role } from '../db/index.ts';
import { KizunaError } from '../errors.ts';
import type { Actor } from './actor.ts';
import { generatePassword, hashPassword, hashToken, randomSecret, verifyPassword } from './secrets.ts';

/** Failed sign-ins in a row before an account is locked, and for how long. */
export const LOCKOUT_AFTER_FAILURES = 5;
export const LOCKOUT_MINUTES = 15;
/** A session ends after this long without a request. */
export const SESSION_IDLE_HOURS = 12;

export type StaffAccount = {
  id: number;
  code: string;
  name: string;
  email: string | null;
  role: Role;
  storeId: number | null;
  storeIds: number[];
  allStores: boolean;
  canSignIn: boolean;
  mustChangePassword: boolean;
  lockedUntil: Date | null;
  disabled: boolean;
  lastLoginAt: Date | null;
};

const ACCOUNT_COLUMNS = [
  'id',
  'code',
  'name',
  'email',
  'role',
  'store_id',
  'all_stores',
  'password_hash',
  'must_change_password',
  'locked_until',
  'disabled_at',
  'last_login_at',
] as const;

type AccountRow = {
  id: number;
  code: string;
  name: string;
  email: string | null;
  role: Role;
  store_id: number | null;
  all_stores: boolean;
  password_hash: string | null;
  must_change_password: boolean;
  locked_until: Date | null;
  disabled_at: Date | null;
  last_login_at: Date | null;
};

// The stores listed for a staff member besides their own, as one column, so an account is one query.
const extraStores = sql<
  number[]
>`coalesce((select array_agg(ss.store_id order by ss.store_id) from staff_stores ss where ss.staff_id = staff.id), '{}')`;

function toAccount(row: AccountRow & { extra_stores: unknown[] }): StaffAccount {
  const extra = row.extra_stores.map(Number);
  const storeIds = [...new Set([...(row.store_id === null ? [] : [row.store_id]), ...extra])].sort(
    (a, b) => a - b,
  );
  return {
    id: row.id,
    code: row.code,
    name: row.name,
    email: row.email,
    role: row.role,
    storeId: row.store_id,
    storeIds,
    allStores: row.all_stores || row.role === 'owner',
    canSignIn: row.password_hash !== null && row.disabled_at === null,
    mustChangePassword: row.must_change_password,
    lockedUntil: row.locked_until,
    disabled: row.disabled_at !== null,
    lastLoginAt: row.last_login_at,
  };
}

export async function listStaffAccounts(database: Database): Promise<StaffAccount[]> {
  const rows = await database.db
    .selectFrom('staff')
    .select([...ACCOUNT_COLUMNS, extraStores.as('extra_stores')])
    .orderBy('id')
    .execute();
  return rows.map(toAccount);
}

export async function getStaffAccount(database: Database, staffId: number): Promise<StaffAccount | null> {
  const row = await database.db
    .selectFrom('staff')
    .select([...ACCOUNT_COLUMNS, extraStores.as('extra_stores')])
    .where('id', '=', staffId)
    .executeTakeFirst();
  return row ? toAccount(row) : null;
}

/** The actor a staff account acts as; null when it is disabled. */
export function actorOf(account: StaffAccount): Actor | null {
  if (account.disabled) return null;
  return {
    kind: 'staff',
    staffId: account.id,
    tokenId: null,
    name: account.name,
    role: account.role,
    storeIds: account.allStores ? null : account.storeIds,
  };
}

export type StaffAccountInput = {
  code: string;
  name: string;
  email?: string | null;
  role: Role;
  /** The staff member's own store. */
  storeId?: number | null;
  /** Further stores they may see. */
  storeIds?: number[];
  allStores?: boolean;
  password?: string;
  mustChangePassword?: boolean;
};

/** Refuses store ids that do not exist (404, field `storeIds`). */
export async function checkStores(database: Database, storeIds: number[]): Promise<void> {
  if (storeIds.length === 0) return;
  const found = await database.db.selectFrom('stores').select('id').where('id', 'in', storeIds).execute();
  const missing = storeIds.filter((id) => !found.some((row) => row.id === id));
  if (missing.length > 0) {
    throw new KizunaError('store_not_found', `No store with id ${missing.join(', ')}`, {
      field: 'storeIds',
      status: 404,
    });
  }
}

/** Creates a staff member who can sign in (with a password) or is only named on records (without). */
export async function createStaffAccount(
  database: Database,
  input: StaffAccountInput,
): Promise<StaffAccount> {
  const storeIds = [...new Set(input.storeIds ?? [])];
  await checkStores(database, [...storeIds, ...(input.storeId ? [input.storeId] : [])]);
  const passwordHash = input.password === undefined ? null : await hashPassword(input.password);
  const taken = await database.db
    .selectFrom('staff')
    .select('id')
    .where((eb) =>
      eb.or([
        eb('code', '=', input.code),
        ...(input.email ? [eb(eb.fn('lower', ['email']), '=', input.email.toLowerCase())] : []),
      ]),
    )
    .executeTakeFirst();
  if (taken) {
    throw new KizunaError('staff_exists', `A staff member with code ${input.code} or that e-mail exists`, {
      field: 'code',
      status: 409,
    });
  }
  const id = await database.transaction(async (tx) => {
    const row = await tx.db
      .insertInto('staff')
      .values({
        code: input.code,
        name: input.name,
        email: input.email ?? null,
        role: input.role,
        store_id: input.storeId ?? null,
        all_stores: input.allStores ?? false,
        password_hash: passwordHash,
        must_change_password: input.mustChangePassword ?? false,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    if (storeIds.length > 0) {
      await tx.db
        .insertInto('staff_stores')
        .values(storeIds.map((store_id) => ({ staff_id: row.id, store_id })))
        .execute();
    }
    return row.id;
  });
  return (await getStaffAccount(database, id))!;
}

export type StaffAccountPatch = {
  name?: string;
  email?: string | null;
  role?: Role;
  storeId?: number | null;
  storeIds?: number[];
  allStores?: boolean;
  disabled?: boolean;
};

export async function updateStaffAccount(
  database: Database,
  staffId: number,
  patch: StaffAccountPatch,
): Promise<StaffAccount> {
  const existing = await getStaffAccount(database, staffId);
  if (!existing) throw new KizunaError('staff_not_found', `No staff member ${staffId}`, { status: 404 });
  await checkStores(database, [...(patch.storeIds ?? []), ...(patch.storeId ? [patch.storeId] : [])]);
  if (existing.role === 'owner' && ((patch.role !== undefined && patch.role !== 'owner') || patch.disabled)) {
    const owners = await database.db
      .selectFrom('staff')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('role', '=', 'owner')
      .where('disabled_at', 'is', null)
      .where('password_hash', 'is not', null)
      .executeTakeFirstOrThrow();
    if (Number(owners.n) <= 1) {
      throw new KizunaError(
        'last_owner',
        'This is the last owner who can sign in; make another owner first',
        {
          field: 'role',
          status: 409,
        },
      );
    }
  }
  await database.transaction(async (tx) => {
    await tx.db
      .updateTable('staff')
      .set({
        ...(patch.name !== undefined ? { name: patch.name } : {}),
        ...(patch.email !== undefined ? { email: patch.email } : {}),
        ...(patch.role !== undefined ? { role: patch.role } : {}),
        ...(patch.storeId !== undefined ? { store_id: patch.storeId } : {}),
        ...(patch.allStores !== undefined ? { all_stores: patch.allStores } : {}),
        ...(patch.disabled !== undefined ? { disabled_at: patch.disabled ? new Date() : null } : {}),
      })
      .where('id', '=', staffId)
      .execute();
    if (patch.storeIds !== undefined) {
      await tx.db.deleteFrom('staff_stores').where('staff_id', '=', staffId).execute();
      const ids = [...new Set(patch.storeIds)];
      if (ids.length > 0) {
        await tx.db
          .insertInto('staff_stores')
          .values(ids.map((store_id) => ({ staff_id: staffId, store_id })))
          .execute();
      }
    }
    // A changed role, scope or a disabled account takes effect at once: sign them out everywhere.
    if (
      patch.role !== undefined ||
      patch.storeIds !== undefined ||
      patch.storeId !== undefined ||
      patch.allStores !== undefined ||
      patch.disabled
    ) {
      await tx.db
        .updateTable('sessions')
        .set({ revoked_at: new Date() })
        .where('staff_id', '=', staffId)
        .where('revoked_at', 'is', null)
        .execute();
    }
  });
  return (await getStaffAccount(database, staffId))!;
}

/** Sets a password (and unlocks the account); every session of that account ends. */
export async function setStaffPassword(
  database: Database,
  staffId: number,
  password: string,
  options: { mustChange?: boolean } = {},
): Promise<void> {
  const hash = await hashPassword(password);
  const result = await database.transaction(async (tx) => {
    const updated = await tx.db
      .updateTable('staff')
      .set({
        password_hash: hash,
        must_change_password: options.mustChange ?? false,
        failed_logins: 0,
        locked_until: null,
      })
      .where('id', '=', staffId)
      .executeTakeFirst();
    await tx.db
      .updateTable('sessions')
      .set({ revoked_at: new Date() })
      .where('staff_id', '=', staffId)
      .where('revoked_at', 'is', null)
      .execute();
    return updated;
  });
  if (Number(result.numUpdatedRows) === 0) {
    throw new KizunaError('staff_not_found', `No staff member ${staffId}`, { status: 404 });
  }
}

/** Finds a staff member by code or e-mail (what a person types to sign in). */
export async function findStaff(database: Database, login: string): Promise<StaffAccount | null> {
  const key = login.trim();
  const row = await database.db
    .selectFrom('staff')
    .select('id')
    .where((eb) => eb.or([eb('code', '=', key), eb(eb.fn('lower', ['email']), '=', key.toLowerCase())]))
    .orderBy('id')
    .executeTakeFirst();
  return row ? getStaffAccount(database, row.id) : null;
}

export type OwnerBootstrap =
  | { created: false }
  | { created: true; login: string; password: string | null; generated: boolean };

/**
 * First start: when no owner can sign in, makes the account `owner` (or gives a password to an existing
 * owner without one). The password is `KIZUNA_ADMIN_PASSWORD` when given, otherwise a generated one that
 * must be changed at first sign-in; the caller prints it once.
 */
export async function ensureOwnerAccount(
  database: Database,
  adminPassword?: string,
): Promise<OwnerBootstrap> {
  const owner = await database.db
    .selectFrom('staff')
    .select('id')
    .where('role', '=', 'owner')
    .where('password_hash', 'is not', null)
    .where('disabled_at', 'is', null)
    .executeTakeFirst();
  if (owner) return { created: false };
  const generated = adminPassword === undefined || adminPassword === '';
  const password = generated ? generatePassword() : adminPassword;
  const existing = await findStaff(database, 'owner');
  if (existing) {
    await updateStaffAccount(database, existing.id, { role: 'owner', allStores: true, disabled: false });
    await setStaffPassword(database, existing.id, password, { mustChange: generated });
  } else {
    await createStaffAccount(database, {
      code: 'owner',
      name: 'Owner',
      role: 'owner',
      allStores: true,
      password,
      mustChangePassword: generated,
    });
  }
  return { created: true, login: 'owner', password: generated ? password : null, generated };
}

export type SignIn = {
  /** The session secret: goes into the cookie, stored only hashed. */
  sessionToken: string;
  csrfToken: string;
  expiresAt: Date;
  account: StaffAccount;
};

export type SignInFailure = {
  code: 'invalid_credentials' | 'account_locked';
  staffId: number | null;
  message: string;
};

// A real argon2 hash of a random password, verified when the login names nobody, so that the answer takes
// as long as for a real account and does not tell which logins exist.
let decoyHash: Promise<string> | undefined;

/**
 * Checks a password; counts failures and locks the account after LOCKOUT_AFTER_FAILURES in a row. A
 * success clears the count. Used by sign-in and by a password change (which must prove the old one).
 */
export async function verifyCredentials(
  database: Database,
  login: string,
  password: string,
  now = new Date(),
): Promise<StaffAccount | SignInFailure> {
  const account = await findStaff(database, login);
  const row = account
    ? await database.db
        .selectFrom('staff')
        .select(['password_hash', 'failed_logins', 'locked_until'])
        .where('id', '=', account.id)
        .executeTakeFirstOrThrow()
    : null;
  if (!account || !row || row.password_hash === null || account.disabled) {
    decoyHash ??= hashPassword(randomSecret());
    await verifyPassword(await decoyHash, password);
    return { code: 'invalid_credentials', staffId: account?.id ?? null, message: 'Wrong login or password' };
  }
  if (row.locked_until !== null && row.locked_until > now) {
    return {
      code: 'account_locked',
      staffId: account.id,
      message: `Too many failed sign-ins: this account is locked until ${row.locked_until.toISOString()}. An owner can unlock it by setting a new password.`,
    };
  }
  if (!(await verifyPassword(row.password_hash, password))) {
    const failures = row.failed_logins + 1;
    const lock = failures >= LOCKOUT_AFTER_FAILURES;
    await database.db
      .updateTable('staff')
      .set({
        failed_logins: lock ? 0 : failures,
        locked_until: lock ? new Date(now.getTime() + LOCKOUT_MINUTES * 60_000) : row.locked_until,
      })
      .where('id', '=', account.id)
      .execute();
    return { code: 'invalid_credentials', staffId: account.id, message: 'Wrong login or password' };
  }
  if (row.failed_logins > 0 || row.locked_until !== null) {
    await database.db
      .updateTable('staff')
      .set({ failed_logins: 0, locked_until: null })
      .where('id', '=', account.id)
      .execute();
  }
  return account;
}

/** Signs in: checks the password (`verifyCredentials`) and opens a session. */
export async function signIn(
  database: Database,
  login: string,
  password: string,
  context: { ip?: string; userAgent?: string; now?: Date } = {},
): Promise<SignIn | SignInFailure> {
  const now = context.now ?? new Date();
  const account = await verifyCredentials(database, login, password, now);
  if ('message' in account) return account;
  const sessionToken = randomSecret();
  const csrfToken = randomSecret();
  const expiresAt = new Date(now.getTime() + SESSION_IDLE_HOURS * 3_600_000);
  await database.transaction(async (tx) => {
    await tx.db.updateTable('staff').set({ last_login_at: now }).where('id', '=', account.id).execute();
    await tx.db
      .insertInto('sessions')
      .values({
        id_hash: hashToken(sessionToken),
        staff_id: account.id,
        csrf_token: csrfToken,
        created_at: now,
        last_seen_at: now,
        expires_at: expiresAt,
        ip: context.ip ?? null,
        user_agent: context.userAgent?.slice(0, 300) ?? null,
      })
      .execute();
  });
  return { sessionToken, csrfToken, expiresAt, account };
}

export type SessionInfo = { account: StaffAccount; actor: Actor; csrfToken: string; idHash: string };

/** The live session behind a cookie value, sliding its expiry forward; null when unknown, expired or ended. */
export async function resumeSession(
  database: Database,
  sessionToken: string,
  now = new Date(),
): Promise<SessionInfo | null> {
  const idHash = hashToken(sessionToken);
  // One query per request: the session with its account.
  const session = await database.db
    .selectFrom('sessions')
    .innerJoin('staff', 'staff.id', 'sessions.staff_id')
    .select([
      ...ACCOUNT_COLUMNS.map((column) => `staff.${column}` as const),
      extraStores.as('extra_stores'),
      'sessions.csrf_token',
      'sessions.expires_at',
      'sessions.last_seen_at',
    ])
    .where('sessions.id_hash', '=', idHash)
    .where('sessions.revoked_at', 'is', null)
    .executeTakeFirst();
  if (!session || session.expires_at <= now) return null;
  const account = toAccount(session);
  const actor = actorOf(account);
  if (!actor || !account.canSignIn) return null;
  // Slide the expiry at most once a minute, not on every request.
  if (now.getTime() - session.last_seen_at.getTime() > 60_000) {
    await database.db
      .updateTable('sessions')
      .set({ last_seen_at: now, expires_at: new Date(now.getTime() + SESSION_IDLE_HOURS * 3_600_000) })
      .where('id_hash', '=', idHash)
      .execute();
  }
  return { account, actor, csrfToken: session.csrf_token, idHash };
}

export async function endSession(database: Database, idHash: string): Promise<void> {
  await database.db
    .updateTable('sessions')
    .set({ revoked_at: new Date() })
    .where('id_hash', '=', idHash)
    .execute();
}

/** Removes sessions that ended more than a day ago. */
export async function pruneSessions(database: Database): Promise<void> {
  await database.db
    .deleteFrom('sessions')
    .where((eb) =>
      eb.or([
        eb('expires_at', '<', sql<Date>`now() - interval '1 day'`),
        eb('revoked_at', '<', sql<Date>`now() - interval '1 day'`),
      ]),
    )
    .execute();
}
