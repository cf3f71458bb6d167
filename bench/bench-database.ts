import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { DatabaseConfig } from '../src/db/index.ts';

/** A fresh, empty database for one benchmark run on one engine, with its on-disk size and cleanup. */
export type BenchDatabase = { config: DatabaseConfig; sizeBytes(): Promise<number>; drop(): Promise<void> };

async function dirSize(path: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(path, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await stat(join(entry.parentPath, entry.name))).size;
  }
  return total;
}

/**
 * PGlite: a new temporary data directory. PostgreSQL: a new database kizuna_bench_<random> on the server
 * named by DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres).
 */
export async function freshBenchDatabase(engine: string): Promise<BenchDatabase> {
  if (engine === 'pglite') {
    const dataDir = await mkdtemp(join(tmpdir(), 'kizuna-bench-'));
    return {
      config: { engine: 'pglite', dataDir, workMem: '64MB' },
      sizeBytes: () => dirSize(dataDir),
      drop: () => rm(dataDir, { recursive: true, force: true }),
    };
  }
  if (engine !== 'postgres') throw new Error(`unknown engine ${engine}: use pglite or postgres`);
  const serverUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const name = `kizuna_bench_${Math.random().toString(36).slice(2, 10)}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    config: { engine: 'postgres', url: url.toString(), workMem: '64MB' },
    sizeBytes: async () => Number((await admin.query(`select pg_database_size('${name}') as n`)).rows[0].n),
    drop: async () => {
      await admin.query(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  };
}
