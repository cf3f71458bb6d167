import pg from 'pg';
import { type Database, type DatabaseConfig, migrateToLatest, openDatabase } from '../../src/db/index.ts';

/** A database for one test: its configuration, the environment that points the CLI at it, and cleanup. */
export type TestTarget = { config: DatabaseConfig; env: Record<string, string>; drop(): Promise<void> };

async function onServer(serverUrl: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/**
 * A new, empty database: on the PostgreSQL server named by `DATABASE_URL` when it is set (CI's second
 * pass), otherwise an embedded data directory `dataDir` (or memory when none is given).
 */
export async function createTestTarget(dataDir?: string): Promise<TestTarget> {
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    const dir = dataDir ?? 'memory://';
    return {
      config: { engine: 'pglite', dataDir: dir, workMem: '16MB' },
      env: { KIZUNA_DATA_DIR: dir },
      drop: async () => {},
    };
  }
  const name = `kizuna_test_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  await onServer(serverUrl, `create database ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    config: { engine: 'postgres', url: url.toString(), workMem: '16MB' },
    env: { DATABASE_URL: url.toString() },
    drop: () => onServer(serverUrl, `drop database if exists ${name} with (force)`),
  };
}

/**
 * Opens a fresh, migrated database for one test file: an in-memory PGlite by default, or — when
 * `DATABASE_URL` is set — a new database on that PostgreSQL server, dropped again by `close()`.
 */
export async function openTestDatabase(): Promise<Database> {
  const target = await createTestTarget();
  const database = await openDatabase(target.config);
  await migrateToLatest(database);
  const close = database.close.bind(database);
  return {
    ...database,
    async close() {
      await close();
      await target.drop();
    },
  };
}
