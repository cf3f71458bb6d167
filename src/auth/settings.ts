import { z } from 'zod';
import type { Database, Role } from '../db/index.ts';
import { KizunaError } from '../errors.ts';
import { ROLES } from './roles.ts';

/**
 * The owner's rules. `hideComplaintTextFrom`: roles that see a complaint's subject and status but not
 * what the customer wrote (MISSION: marketers need not read complaints). Marketers by default.
 */
export const SettingsSchema = z.object({
  hideComplaintTextFrom: z.array(z.enum(ROLES)).default(['marketer']),
});
export type Settings = z.output<typeof SettingsSchema>;
export const SettingsPatch = SettingsSchema.partial();

const KEY = 'access';

/** The stored value of one owner's setting (`settings` row by key), or `{}` when none was ever written. */
export async function readSettingValue(database: Database, key: string): Promise<unknown> {
  const row = await database.db
    .selectFrom('settings')
    .select('value')
    .where('key', '=', key)
    .executeTakeFirst();
  return row?.value ?? {};
}

/** Writes one owner's setting, recording who changed it and when. */
export async function writeSettingValue(
  database: Database,
  key: string,
  value: unknown,
  staffId: number | null,
): Promise<void> {
  const json = JSON.stringify(value);
  await database.db
    .insertInto('settings')
    .values({ key, value: json, updated_by_staff_id: staffId })
    .onConflict((oc) =>
      oc.column('key').doUpdateSet({ value: json, updated_at: new Date(), updated_by_staff_id: staffId }),
    )
    .execute();
}

export async function readSettings(database: Database): Promise<Settings> {
  return SettingsSchema.parse(await readSettingValue(database, KEY));
}

export async function updateSettings(
  database: Database,
  patch: z.input<typeof SettingsPatch>,
  staffId: number | null,
): Promise<Settings> {
  const parsed = SettingsPatch.safeParse(patch);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new KizunaError('invalid_request', issue?.message ?? 'invalid settings', {
      field: issue?.path.join('.'),
    });
  }
  const next = { ...(await readSettings(database)), ...parsed.data };
  try {
    await writeSettingValue(database, KEY, next, staffId);
  } finally {
    forgetCachedSettings(database);
  }
  return next;
}

/**
 * How long a process keeps the owner's rules it read. A change made through this process (updateSettings)
 * applies at once; one made by another process (another server on the same PostgreSQL, a CLI) applies
 * here within this time. Read on every 360 and timeline, the rules would otherwise cost a statement each.
 */
export const SETTINGS_CACHE_MS = 5_000;

type CachedSettings = { settings: Promise<Settings>; until: number };
const cache = new WeakMap<Database, CachedSettings>();

/**
 * After a write: the next reader reads again. A read still in flight was created before this, so its
 * answer (old or new) goes only to the callers that were already waiting for it.
 */
function forgetCachedSettings(database: Database): void {
  cache.delete(database);
}

/** The owner's rules, read at most once per SETTINGS_CACHE_MS per database handle (see above). */
export function cachedSettings(database: Database): Promise<Settings> {
  const now = Date.now();
  const cached = cache.get(database);
  if (cached && cached.until > now) return cached.settings;
  const entry: CachedSettings = { settings: readSettings(database), until: now + SETTINGS_CACHE_MS };
  cache.set(database, entry);
  // A failed read is not kept: the next caller tries again.
  entry.settings.catch(() => {
    if (cache.get(database) === entry) cache.delete(database);
  });
  return entry.settings;
}

/** Whether this role may read what customers wrote in complaints (the rules as cached, see above). */
export async function canReadComplaintText(database: Database, role: Role): Promise<boolean> {
  return !(await cachedSettings(database)).hideComplaintTextFrom.includes(role);
}
