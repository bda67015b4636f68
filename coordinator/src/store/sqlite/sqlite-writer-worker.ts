// The embedded store's writer thread: owns the writer connection and writes
// each batch it is sent (BEGIN … COMMIT) as one synchronous job, so the event
// loop that runs the engine and the gRPC server neither waits for the disk
// nor spends its time in SQLite, and a commit never waits behind that loop.
//
// A batch arrives as one transferred buffer (unit-batch-codec.ts); its blobs
// are bound as views of it.

import { parentPort, workerData } from 'node:worker_threads';
import { SqliteConnection } from './sqlite-connection.js';
import { writeBatch, writeIsolated } from './sqlite-unit-writer.js';
import { decodeUnitBatch } from './unit-batch-codec.js';
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

const send = (m: FromWriter): void => port.postMessage(m);

function main(): void {
  let db: SqliteConnection;
  try {
    db = SqliteConnection.openSync(data.path, false);
    db.execSync(data.pragmas);
  } catch (err) {
    send({ t: 'open-failed', error: wire(err) });
    return;
  }
  // One batch at a time, in arrival order (each message is handled to its end before the next).
  port.on('message', (req: WriteRequest | 'close') => {
    if (req === 'close') {
      try {
        db.closeSync();
      } finally {
        port.close();
      }
      return;
    }
    try {
      const units = decodeUnitBatch(req.batch);
      const errors = req.isolated ? writeIsolated(db, units) : (writeBatch(db, units), undefined);
      const reserved = units.flatMap((u) => u.reservations.map((r) => r.last));
      send({ t: 'reply', id: req.id, ok: true, reserved, unitErrors: errors?.map((e) => (e === undefined ? undefined : wire(e))) });
    } catch (err) {
      send({ t: 'reply', id: req.id, ok: false, error: wire(err) });
    }
  });
  send({ t: 'ready' });
}

main();
