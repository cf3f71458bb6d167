import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { KizunaError } from '../errors.ts';

/** Who holds an embedded data directory. */
export type LockOwner = { pid: number; host: string; command: string; startedAt: string };

export const LOCK_FILE = 'kizuna.lock';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readOwner(path: string): LockOwner | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as LockOwner;
  } catch {
    return undefined;
  }
}

/**
 * PGlite does not lock its data directory, and two processes writing one directory corrupt it.
 * This takes an exclusive lock file (created with O_EXCL) naming the owning process; a lock left by a
 * process that no longer runs on this host is taken over. Returns the function that releases it.
 */
export function lockDataDir(dataDir: string, command = process.argv.slice(1).join(' ')): () => void {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, LOCK_FILE);
  const me: LockOwner = { pid: process.pid, host: hostname(), command, startedAt: new Date().toISOString() };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, JSON.stringify(me));
      closeSync(fd);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        if (readOwner(path)?.pid === process.pid) rmSync(path, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = readOwner(path);
      const stale = owner && owner.host === me.host && owner.pid !== process.pid && !isAlive(owner.pid);
      if (owner && !stale) {
        throw new KizunaError(
          'database_in_use',
          `The database in ${dataDir} is in use by process ${owner.pid} on ${owner.host} ` +
            `(${owner.command || 'kizuna'}, since ${owner.startedAt}). ` +
            'Stop that process first, or use the running server. The embedded database serves one process at a time.',
        );
      }
      // A lock without a readable owner or left by a dead process: remove it and try once more.
      rmSync(path, { force: true });
    }
  }
  throw new KizunaError(
    'database_in_use',
    `Could not lock ${dataDir}: another process keeps taking the lock.`,
  );
}
