// Reads a participant's (or the coordinator's) SQLite file to check effects.

import sqlite3 from 'sqlite3';

export async function queryDb<T>(path: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const db = await new Promise<sqlite3.Database>((resolve, reject) => {
    const d = new sqlite3.Database(path, sqlite3.OPEN_READONLY, (err) => (err ? reject(err) : resolve(d)));
  });
  try {
    return await new Promise<T[]>((resolve, reject) => db.all(sql, params, (err, rows) => (err ? reject(err) : resolve(rows as T[]))));
  } finally {
    await new Promise<void>((r) => db.close(() => r()));
  }
}

export async function scalar(path: string, sql: string, params: unknown[] = []): Promise<number> {
  const rows = await queryDb<Record<string, number>>(path, sql, params);
  const first = rows[0];
  return first === undefined ? 0 : Number(Object.values(first)[0] ?? 0);
}
