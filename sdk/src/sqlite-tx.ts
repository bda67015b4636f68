/** Result of a statement that changes rows. */
export interface SqliteRunResult {
  /** Rows inserted, updated or deleted. */
  changes: number;
  /** Row id of the last inserted row. */
  lastID: number;
}

/** Values bound to `?` (array) or `$name` (object) parameters. */
export type SqliteParams = readonly unknown[] | Readonly<Record<string, unknown>>;

/**
 * One open SQLite transaction. Valid only inside the callback that received
 * it: using it afterwards throws, so that no statement escapes the
 * transaction it was meant for.
 */
export interface SqliteTx {
  run(sql: string, params?: SqliteParams): Promise<SqliteRunResult>;
  get<T = Record<string, unknown>>(sql: string, params?: SqliteParams): Promise<T | undefined>;
  all<T = Record<string, unknown>>(sql: string, params?: SqliteParams): Promise<T[]>;
  /** Runs one or more statements without parameters (e.g. a schema). */
  exec(sql: string): Promise<void>;
}
