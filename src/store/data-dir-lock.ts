import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';

/** Thrown when another process holds the data dir. */
export class DataDirLockedError extends Error {
  constructor(
    readonly dir: string,
    readonly pid: number | undefined,
  ) {
    super(
      `data dir '${dir}' is in use by another portcullis process${pid ? ` (pid ${pid})` : ''}: stop it first, or start with another --data-dir`,
    );
    this.name = 'DataDirLockedError';
  }
}

export interface DataDirLock {
  /** The holder's pid file (`kill -HUP $(cat data/portcullis.pid)`). */
  readonly pidFile: string;
  release(): void;
}

/**
 * Takes the data dir for this process's lifetime: an exclusive SQLite lock on
 * `portcullis.lock` (an OS file lock, so a crashed or killed process cannot leave a stale one,
 * and a recycled pid cannot be mistaken for the holder), then writes `portcullis.pid`. Throws
 * `DataDirLockedError`, having written nothing, when another process (or another gateway in this
 * process) holds it.
 */
export function lockDataDir(dir: string): DataDirLock {
  mkdirSync(dir, { recursive: true });
  const pidFile = join(dir, 'portcullis.pid');
  const db = new Database(join(dir, 'portcullis.lock'), { timeout: 0 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    // The first write takes the exclusive lock; in EXCLUSIVE mode it is kept until close.
    db.exec('BEGIN EXCLUSIVE; CREATE TABLE IF NOT EXISTS holder (pid INTEGER); COMMIT');
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code === 'SQLITE_BUSY')
      throw new DataDirLockedError(resolve(dir), readPid(pidFile));
    throw err;
  }
  writeFileSync(pidFile, `${process.pid}\n`);
  let held = true;
  return {
    pidFile,
    release() {
      if (!held) return;
      held = false;
      if (readPid(pidFile) === process.pid) rmSync(pidFile, { force: true });
      db.close();
    },
  };
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(file, 'utf8'), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}
