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

export async function readSettings(database: Database): Promise<Settings> {
  const row = await database.db
    .selectFrom('settings')
    .select('value')
    .where('key', '=', KEY)
    .executeTakeFirst();
  return SettingsSchema.parse(row?.value ?? {});
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
  const value = JSON.stringify(next);
  await database.db
    .insertInto('settings')
    .values({ key: KEY, value, updated_by_staff_id: staffId })
    .onConflict((oc) =>
      oc.column('key').doUpdateSet({ value, updated_at: new Date(), updated_by_staff_id: staffId }),
    )
    .execute();
  return next;
}

/** Whether this role may read what customers wrote in complaints. */
export async function canReadComplaintText(database: Database, role: Role): Promise<boolean> {
  return !(await readSettings(database)).hideComplaintTextFrom.includes(role);
}
