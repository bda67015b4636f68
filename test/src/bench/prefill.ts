// Fills a coordinator database with finished sagas before a measurement, so
// the benchmark can show the cost of a large retained history. Rows are
// copies of a real finished saga (its sagas row, journal and outbox row, as the
// coordinator wrote them), made inside SQLite by INSERT … SELECT over a
// counter: 100,000 sagas per transaction, no per-row round trips.

import sqlite3 from 'sqlite3';

function open(path: string): Promise<sqlite3.Database> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(path, sqlite3.OPEN_READWRITE, (err) => (err ? reject(err) : resolve(db)));
  });
}

function exec(db: sqlite3.Database, sql: string): Promise<void> {
  return new Promise((resolve, reject) => db.exec(sql, (err) => (err ? reject(err) : resolve())));
}

function run(db: sqlite3.Database, sql: string, params: unknown[]): Promise<number> {
  return new Promise((resolve, reject) =>
    db.run(sql, params, function (this: sqlite3.RunResult, err: Error | null) {
      if (err) reject(err);
      else resolve(this.changes);
    }),
  );
}

function get<T>(db: sqlite3.Database, sql: string, params: unknown[] = []): Promise<T | undefined> {
  return new Promise((resolve, reject) => db.get(sql, params, (err, row) => (err ? reject(err) : resolve(row as T | undefined))));
}

const COUNTER = 'WITH RECURSIVE n(i) AS (SELECT ? UNION ALL SELECT i + 1 FROM n WHERE i < ?)';

/**
 * Adds `count` COMPLETED sagas (copies of the finished saga with the lowest
 * key, which must exist), finished `ageMs` ago, and up to `maxOutbox` unsent
 * outbox rows, the bound a coordinator without NATS keeps.
 */
export async function prefillFinishedSagas(
  path: string,
  count: number,
  options: { ageMs: number; maxOutbox: number; batch?: number },
  progress: (done: number) => void,
): Promise<void> {
  const db = await open(path);
  try {
    await exec(db, 'PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF; PRAGMA cache_size = -262144;');
    const template = await get<{ key: number }>(db, "SELECT MIN(key) AS key FROM sagas WHERE state = 'COMPLETED'");
    if (template?.key == null) throw new Error('prefill: no finished template saga in the database');
    const t = template.key;
    const max = (await get<{ k: number }>(db, 'SELECT MAX(key) AS k FROM sagas'))?.k ?? t;
    const outboxTemplate = await get<{ seq: number }>(db, 'SELECT MIN(seq) AS seq FROM outbox');
    const at = Date.now() - options.ageMs;
    const batch = options.batch ?? 100_000;
    for (let from = 1; from <= count; from += batch) {
      const to = Math.min(count, from + batch - 1);
      await exec(db, 'BEGIN');
      // Ids sort before the coordinator's own (UUIDv7 of today), like older sagas would.
      await run(
        db,
        `${COUNTER}
         INSERT INTO sagas (key, id, name, state, created_at, updated_at, finished_at, deadline_at, definition, definition_hash,
                            failed_step, reason, note, version)
         SELECT ? + n.i, printf('00000000-0000-7000-8000-%012x', n.i), s.name, s.state, ?, ?, ?, s.deadline_at, s.definition,
                s.definition_hash, s.failed_step, s.reason, s.note, s.version
           FROM n, sagas s WHERE s.key = ?`,
        [from, to, max, at - 50, at, at, t],
      );
      await run(
        db,
        `${COUNTER} INSERT INTO journal (saga_key, seq, data) SELECT ? + n.i, j.seq, j.data FROM n, journal j WHERE j.saga_key = ?`,
        [from, to, max, t],
      );
      const outboxTo = Math.min(to, options.maxOutbox);
      if (outboxTemplate?.seq != null && from <= outboxTo) {
        await run(
          db,
          `${COUNTER}
           INSERT INTO outbox (id, subject, payload, headers, ordering_key, created_at)
           SELECT printf('prefill-%012d', n.i), o.subject, o.payload, o.headers, o.ordering_key, ? FROM n, outbox o WHERE o.seq = ?`,
          [from, outboxTo, at, outboxTemplate.seq],
        );
      }
      await exec(db, 'COMMIT');
      progress(to);
    }
    await exec(db, 'PRAGMA wal_checkpoint(TRUNCATE);');
  } finally {
    await new Promise<void>((r) => db.close(() => r()));
  }
}
