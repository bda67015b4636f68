// One SQLite connection (better-sqlite3), with a cache of prepared statements.
//
// Statements run synchronously on the calling thread: a transaction is one
// uninterrupted piece of work (no round trips through a thread pool, nothing
// else interleaves on the connection between its statements). The writer uses
// the *Sync methods; readers use the promise ones, so that where a read runs
// can change without touching its callers.
//
// Errors keep the form the store and operators rely on: `code` is SQLite's
// primary result code (SQLITE_CONSTRAINT, SQLITE_FULL, SQLITE_BUSY, …), the
// extended one is `extendedCode`, and the message starts with the code.

import Database from 'better-sqlite3';

export type SqlParam = string | number | bigint | Buffer | null;

export interface RunResult {
  readonly changes: number;
}

/** An error from SQLite, named by its primary result code. */
export class SqliteError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly extendedCode: string,
  ) {
    super(message);
    this.name = 'SqliteError';
  }
}

/** better-sqlite3's errors carry the extended code (SQLITE_CONSTRAINT_PRIMARYKEY); the store decides on the primary one. */
function translate(err: unknown): Error {
  if (err instanceof Database.SqliteError) {
    const primary = /^SQLITE_[A-Z]+/.exec(err.code)?.[0] ?? err.code;
    return new SqliteError(`${primary}: ${err.message}`, primary, err.code);
  }
  return err instanceof Error ? err : new Error(String(err));
}

/** Runs `work` here, throwing SQLite's errors in the store's form. */
function translated<T>(work: () => T): T {
  try {
    return work();
  } catch (err) {
    throw translate(err);
  }
}

/** The promise form of a *Sync method (which already throws translated errors). */
function attempt<T>(work: () => T): Promise<T> {
  return new Promise((resolve) => resolve(work()));
}

export class SqliteConnection {
  private readonly statements = new Map<string, Database.Statement<SqlParam[]>>();

  private constructor(private readonly db: Database.Database) {}

  /** Opens `path` (created for a writer; it must exist for a read-only connection). */
  static open(path: string, readOnly: boolean): Promise<SqliteConnection> {
    return attempt(() => SqliteConnection.openSync(path, readOnly));
  }

  static openSync(path: string, readOnly: boolean): SqliteConnection {
    // timeout 0: the busy timeout is each connection's own PRAGMA busy_timeout.
    return translated(() => new SqliteConnection(new Database(path, { readonly: readOnly, fileMustExist: readOnly, timeout: 0 })));
  }

  exec(sql: string): Promise<void> {
    return attempt(() => this.execSync(sql));
  }

  run(sql: string, params: readonly SqlParam[] = []): Promise<RunResult> {
    return attempt(() => this.runSync(sql, params));
  }

  /** The first row. */
  get<T>(sql: string, params: readonly SqlParam[] = []): Promise<T | undefined> {
    return attempt(() => this.getSync<T>(sql, params));
  }

  all<T>(sql: string, params: readonly SqlParam[] = []): Promise<T[]> {
    return attempt(() => this.allSync<T>(sql, params));
  }

  /** Calls `visit` per row without materialising the result set; resolves with the number of rows. */
  each<T>(sql: string, params: readonly SqlParam[], visit: (row: T) => void): Promise<number> {
    return attempt(() =>
      translated(() => {
        let n = 0;
        for (const row of this.prepared(sql).iterate(...params)) {
          visit(row as T);
          n++;
        }
        return n;
      }),
    );
  }

  execSync(sql: string): void {
    translated(() => this.db.exec(sql));
  }

  runSync(sql: string, params: readonly SqlParam[] = []): RunResult {
    return translated(() => ({ changes: this.prepared(sql).run(...params).changes }));
  }

  getSync<T>(sql: string, params: readonly SqlParam[] = []): T | undefined {
    return translated(() => this.prepared(sql).get(...params) as T | undefined);
  }

  allSync<T>(sql: string, params: readonly SqlParam[] = []): T[] {
    return translated(() => this.prepared(sql).all(...params) as T[]);
  }

  close(): Promise<void> {
    return attempt(() => this.closeSync());
  }

  closeSync(): void {
    this.statements.clear();
    translated(() => this.db.close());
  }

  private prepared(sql: string): Database.Statement<SqlParam[]> {
    let stmt = this.statements.get(sql);
    if (stmt === undefined) {
      stmt = this.db.prepare<SqlParam[]>(sql);
      this.statements.set(sql, stmt);
    }
    return stmt;
  }
}
