// A promise-based wrapper over one `sqlite3` connection, with a cache of
// prepared statements (the package's per-call cost dominates small writes).

import sqlite3 from 'sqlite3';

export type SqlParam = string | number | bigint | Buffer | null;

export interface RunResult {
  readonly changes: number;
  readonly lastID: number;
}

export class SqliteConnection {
  private readonly statements = new Map<string, sqlite3.Statement>();

  private constructor(private readonly db: sqlite3.Database) {}

  static open(path: string, readOnly: boolean): Promise<SqliteConnection> {
    const mode = readOnly ? sqlite3.OPEN_READONLY : sqlite3.OPEN_READWRITE | sqlite3.OPEN_CREATE;
    return new Promise((resolve, reject) => {
      const db = new sqlite3.Database(path, mode, (err) => {
        if (err) reject(err);
        else resolve(new SqliteConnection(db));
      });
    });
  }

  /**
   * Database-level operations (exec, statement preparation) then run one at a
   * time, in order. Runs of already prepared statements (run/get/all here) are
   * NOT ordered by it: each goes to the thread pool on its own. Await them in
   * turn, or send one SQL text to exec, when order matters (transactions).
   */
  serialize(): void {
    this.db.serialize();
  }

  exec(sql: string): Promise<void> {
    return new Promise((resolve, reject) => this.db.exec(sql, (err) => (err ? reject(err) : resolve())));
  }

  run(sql: string, params: readonly SqlParam[] = []): Promise<RunResult> {
    const stmt = this.prepared(sql);
    return new Promise((resolve, reject) => {
      stmt.run(params, function (this: sqlite3.RunResult, err: Error | null) {
        if (err) reject(err);
        else resolve({ changes: this.changes, lastID: this.lastID });
      });
    });
  }

  /**
   * The first row. Runs the statement to its end (Statement#all), never
   * Statement#get: a cached statement left on a row stays active and pins the
   * connection's read snapshot (every later read on it would see old data), and
   * without parameters the package does not even reset it before the next call.
   */
  async get<T>(sql: string, params: readonly SqlParam[] = []): Promise<T | undefined> {
    return (await this.all<T>(sql, params))[0];
  }

  all<T>(sql: string, params: readonly SqlParam[] = []): Promise<T[]> {
    const stmt = this.prepared(sql);
    return new Promise((resolve, reject) => {
      stmt.all(params, (err: Error | null, rows: T[]) => (err ? reject(err) : resolve(rows)));
    });
  }

  /** Calls `visit` per row without materialising the result set. */
  each<T>(sql: string, params: readonly SqlParam[], visit: (row: T) => void): Promise<number> {
    return new Promise((resolve, reject) => {
      let failure: unknown;
      this.db.each(
        sql,
        params,
        (err: Error | null, row: T) => {
          if (err) failure = err;
          else if (failure === undefined) {
            try {
              visit(row);
            } catch (e) {
              failure = e;
            }
          }
        },
        (err: Error | null, count: number) => {
          if (err) reject(err);
          else if (failure !== undefined) reject(failure instanceof Error ? failure : new Error('row visitor failed', { cause: failure }));
          else resolve(count);
        },
      );
    });
  }

  async close(): Promise<void> {
    await Promise.all([...this.statements.values()].map((s) => new Promise<void>((r) => s.finalize(() => r()))));
    this.statements.clear();
    await new Promise<void>((resolve, reject) => this.db.close((err) => (err ? reject(err) : resolve())));
  }

  private prepared(sql: string): sqlite3.Statement {
    let stmt = this.statements.get(sql);
    if (stmt === undefined) {
      stmt = this.db.prepare(sql);
      this.statements.set(sql, stmt);
    }
    return stmt;
  }
}
