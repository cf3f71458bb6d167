export { type DatabaseConfig, databaseConfigFromEnv, describeDatabase, MEMORY_DATA_DIR } from './config.ts';
export { LOCK_FILE, lockDataDir } from './lock.ts';
export { migrateToLatest, migrationStatus, schemaVersion } from './migrate.ts';
export {
  copyText,
  type Database,
  type Engine,
  openDatabase,
  restoreDatabase,
  type Transaction,
} from './open.ts';
export type * from './schema.ts';
