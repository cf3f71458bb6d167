import pg from 'pg';
import { type Database, migrateToLatest, openDatabase } from '../../src/db/index.ts';

/**
 * Opens a fresh, migrated database for one test file: an in-memory PGlite by default, or — when
 * `DATABASE_URL` is set (as in CI's second pass) — a new database created on that PostgreSQL server
 * and dropped again by `close()`.
 */
export async function openTestDatabase(): Promise<Database> {
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    const database = await openDatabase({ engine: 'pglite', dataDir: 'memory://', workMem: '16MB' });
    await migrateToLatest(database);
    return database;
  }
  const name = `kizuna_test_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const database = await openDatabase({ engine: 'postgres', url: url.toString(), workMem: '16MB' });
  await migrateToLatest(database);
  const close = database.close.bind(database);
  return {
    ...database,
    async close() {
      await close();
      const dropper = new pg.Client({ connectionString: serverUrl });
      await dropper.connect();
      await dropper.query(`drop database if exists ${name} with (force)`);
      await dropper.end();
    },
  };
}
