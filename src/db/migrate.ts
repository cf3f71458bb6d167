import { type MigrationResultSet, Migrator, sql } from 'kysely';
import { KizunaError } from '../errors.ts';
import { migrations } from './migrations/index.ts';
import type { Database } from './open.ts';

export type MigrationStatus = { name: string; executedAt: Date | null }[];

function migrator(database: Database): Migrator {
  return new Migrator({
    db: database.db,
    provider: { getMigrations: async () => migrations },
    migrationTableName: 'kizuna_migration',
    migrationLockTableName: 'kizuna_migration_lock',
  });
}

function check({ error, results }: MigrationResultSet): string[] {
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    throw new KizunaError(
      'migration_failed',
      `Migration ${failed?.migrationName ?? ''} failed: ${(error as Error | undefined)?.message ?? 'see the log'}`,
      { status: 500 },
    );
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/** Brings the schema to the latest version; returns the names of the migrations it applied. */
export async function migrateToLatest(database: Database): Promise<string[]> {
  return check(await migrator(database).migrateToLatest());
}

/** Every known migration and when it was applied (null: pending). */
export async function migrationStatus(database: Database): Promise<MigrationStatus> {
  const list = await migrator(database).getMigrations();
  return list.map((m) => ({ name: m.name, executedAt: m.executedAt ?? null }));
}

/** The newest applied migration, the schema version /health reports. */
export async function schemaVersion(database: Database): Promise<string | null> {
  // One plain query: /health is polled, and Kysely's migration listing introspects the catalog each time.
  const exists = await sql<{
    found: boolean;
  }>`select to_regclass('kizuna_migration') is not null as found`.execute(database.db);
  if (!exists.rows[0]?.found) return null;
  const latest = await sql<{
    name: string;
  }>`select name from kizuna_migration order by name desc limit 1`.execute(database.db);
  return latest.rows[0]?.name ?? null;
}
