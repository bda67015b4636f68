// One coordinator per database file. The owner holds SQLite's own exclusive
// lock on a sidecar database (`<path>.lock`, rollback journal, locking_mode
// EXCLUSIVE) for its whole life: an OS advisory lock, so the kernel releases it
// when the process dies, kill -9 included, and the next coordinator starts at
// once. The main file cannot carry the lock itself: in WAL mode an exclusive
// writer would shut out this process's own reader connection.
//
// Who holds it is written to `<path>.owner` (pid, host) after the lock is
// taken, only to name the owner in the refusal; the lock alone decides.

import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { SqliteConnection } from './sqlite-connection.js';

/** Another process holds the database. Its message is the one line the process prints before exit code 2. */
export class DatabaseInUseError extends Error {
  constructor(
    readonly path: string,
    readonly owner: { readonly pid?: number; readonly host?: string },
  ) {
    const who = [owner.pid === undefined ? '' : `pid ${owner.pid}`, owner.host === undefined ? '' : `host ${owner.host}`]
      .filter((s) => s !== '')
      .join(' on ');
    super(`database ${path} is in use by another coordinator${who === '' ? '' : ` (${who})`}`);
    this.name = 'DatabaseInUseError';
  }
}

export class OwnerLock {
  private constructor(
    private readonly db: SqliteConnection,
    private readonly ownerFile: string,
  ) {}

  /** Takes the lock of `path` or throws DatabaseInUseError at once (no waiting). */
  static async acquire(path: string): Promise<OwnerLock> {
    const lockPath = `${path}.lock`;
    const ownerFile = `${path}.owner`;
    const db = await SqliteConnection.open(lockPath, false);
    try {
      // A write takes the EXCLUSIVE lock; in this locking mode it is kept until the connection closes.
      await db.exec(
        'PRAGMA busy_timeout = 0; PRAGMA journal_mode = DELETE; PRAGMA locking_mode = EXCLUSIVE;' +
          ' BEGIN EXCLUSIVE; CREATE TABLE IF NOT EXISTS owner (pid INTEGER); COMMIT;',
      );
    } catch (err) {
      await db.close().catch(() => undefined);
      if (sqliteCode(err) === 'SQLITE_BUSY' || sqliteCode(err) === 'SQLITE_LOCKED') throw new DatabaseInUseError(path, readOwner(ownerFile));
      throw err;
    }
    writeFileSync(ownerFile, `${JSON.stringify({ pid: process.pid, host: hostname() })}\n`);
    return new OwnerLock(db, ownerFile);
  }

  async release(): Promise<void> {
    rmSync(this.ownerFile, { force: true });
    await this.db.close();
  }
}

function sqliteCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}

/** Best effort: the owner file may be missing or half written. */
function readOwner(ownerFile: string): { pid?: number; host?: string } {
  try {
    const parsed = JSON.parse(readFileSync(ownerFile, 'utf8')) as { pid?: unknown; host?: unknown };
    return {
      pid: typeof parsed.pid === 'number' ? parsed.pid : undefined,
      host: typeof parsed.host === 'string' ? parsed.host : undefined,
    };
  } catch {
    return {};
  }
}
