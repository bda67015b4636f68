// Reads a participant's (or the coordinator's) SQLite file to check effects.
// better-sqlite3, the coordinator's own driver: a test that runs a SqliteStore
// in this process must not read its file through a second copy of SQLite (a
// copy that closes its descriptor drops the other copy's POSIX locks).

import Database from 'better-sqlite3';

export function queryDb<T>(path: string, sql: string, params: unknown[] = []): Promise<T[]> {
  try {
    const db = new Database(path, { readonly: true, fileMustExist: true, timeout: 5000 });
    try {
      return Promise.resolve(db.prepare(sql).all(...params) as T[]);
    } finally {
      db.close();
    }
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
}

export async function scalar(path: string, sql: string, params: unknown[] = []): Promise<number> {
  const rows = await queryDb<Record<string, number>>(path, sql, params);
  const first = rows[0];
  return first === undefined ? 0 : Number(Object.values(first)[0] ?? 0);
}
