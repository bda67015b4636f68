// The embedded store's writer thread: owns the writer connection and writes
// each batch it is sent (BEGIN … COMMIT) as one job. On the event loop, the
// five to ten thread-pool round trips of a transaction each wait behind
// whatever that loop is doing, so a busy loop stretched every commit; here
// they wait only for SQLite.
//
// Blobs arrive as Uint8Array (structured clone): viewed as Buffers again
// before binding.

import { parentPort, workerData } from 'node:worker_threads';
import { SqliteConnection, type SqlParam } from './sqlite-connection.js';
import { writeBatch, writeIsolated, type EncodedUnit } from './sqlite-unit-writer.js';
import type { FromWriter, WireError, WriteRequest } from './sqlite-writer-protocol.js';
import type { WriterWorkerData } from './sqlite-writer-protocol.js';

if (parentPort === null) throw new Error('sqlite-writer-worker runs as a worker thread');
const port = parentPort;
const data = workerData as WriterWorkerData;

function wire(err: unknown): WireError {
  const e = err instanceof Error ? err : new Error(String(err));
  const code = 'code' in e && typeof e.code === 'string' ? e.code : undefined;
  return { message: e.message, code };
}

function asBuffer(p: SqlParam | Uint8Array): SqlParam {
  if (p instanceof Uint8Array && !Buffer.isBuffer(p)) return Buffer.from(p.buffer, p.byteOffset, p.byteLength);
  return p;
}
const rows = (rs: readonly SqlParam[][]): SqlParam[][] => rs.map((r) => r.map(asBuffer));

function revive(u: EncodedUnit): EncodedUnit {
  return {
    ...u,
    inserts: rows(u.inserts),
    journal: rows(u.journal),
    updates: rows(u.updates),
    outbox: rows(u.outbox),
    statements: u.statements.map((st) => ({ sql: st.sql, params: st.params.map(asBuffer) })),
    reservations: u.reservations.map((r) => ({ count: r.count })),
  };
}

const send = (m: FromWriter): void => port.postMessage(m);

async function main(): Promise<void> {
  let db: SqliteConnection;
  try {
    db = await SqliteConnection.open(data.path, false);
    await db.exec(data.pragmas);
    db.serialize();
  } catch (err) {
    send({ t: 'open-failed', error: wire(err) });
    return;
  }
  // One batch at a time, in arrival order: the store's group committer sends the next only after this one's reply.
  let queue = Promise.resolve();
  port.on('message', (req: WriteRequest | 'close') => {
    if (req === 'close') {
      queue = queue.then(() => db.close()).then(() => port.close());
      return;
    }
    queue = queue.then(async () => {
      const units = req.units.map(revive);
      try {
        const errors = req.isolated ? await writeIsolated(db, units) : (await writeBatch(db, units), undefined);
        const reserved = units.flatMap((u) => u.reservations.map((r) => r.last));
        send({ t: 'reply', id: req.id, ok: true, reserved, unitErrors: errors?.map((e) => (e === undefined ? undefined : wire(e))) });
      } catch (err) {
        send({ t: 'reply', id: req.id, ok: false, error: wire(err) });
      }
    });
  });
  send({ t: 'ready' });
}

void main();
