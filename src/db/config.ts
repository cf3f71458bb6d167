import { resolve } from 'node:path';

/** Where the database lives: an embedded PGlite data directory, or a PostgreSQL server. */
export type DatabaseConfig =
  | { engine: 'pglite'; dataDir: string; workMem: string }
  | { engine: 'postgres'; url: string; workMem: string };

export const MEMORY_DATA_DIR = 'memory://';

/**
 * Reads the database configuration from the environment:
 * `DATABASE_URL` selects a PostgreSQL server; otherwise `KIZUNA_DATA_DIR` (default `./data`) holds
 * the embedded database (`memory://` keeps it in memory, for tests).
 */
export function databaseConfigFromEnv(env: NodeJS.ProcessEnv = process.env): DatabaseConfig {
  const workMem = env.KIZUNA_WORK_MEM ?? '64MB';
  if (env.DATABASE_URL) return { engine: 'postgres', url: env.DATABASE_URL, workMem };
  const dir = env.KIZUNA_DATA_DIR ?? './data';
  return { engine: 'pglite', dataDir: dir === MEMORY_DATA_DIR ? dir : resolve(dir), workMem };
}

/** A description of the database safe to print (no password). */
export function describeDatabase(config: DatabaseConfig): string {
  if (config.engine === 'pglite') return `embedded PGlite at ${config.dataDir}`;
  const url = new URL(config.url);
  if (url.password) url.password = '***';
  return `PostgreSQL ${url.toString()}`;
}
