// The embedded store's writer connection on a thread of its own
// (sqlite-writer-worker.ts). A batch crosses as one message each way (its
// units as one transferred buffer, unit-batch-codec.ts), so a
// transaction's round trips to SQLite no longer queue behind the event loop
// that runs the engine and the gRPC server, and their binding work leaves it.
// Same SQLite library, same file, same SQL as on the event loop; the log keeps
// its single writer (this thread). If the thread dies, the write in flight and
// every later one fail: the store latches failed (fail-stop) and recovery
// restarts from what is durable.

import { Worker } from 'node:worker_threads';
import type { EncodedUnit } from './sqlite-unit-writer.js';
import type { FromWriter, WireError, WriteReply, WriteRequest, WriterWorkerData } from './sqlite-writer-protocol.js';
import { ChurnTable } from '../../util/churn-table.js';
import { UnitBatchEncoder } from './unit-batch-codec.js';

const WORKER_URL = new URL('./sqlite-writer-worker.js', import.meta.url);

/** An error from the thread, with its SQLite code where it had one (a unit's constraint is told apart by it). */
export class SqliteWriterError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = 'SqliteWriterError';
  }
}

const fromWire = (e: WireError): SqliteWriterError => new SqliteWriterError(e.message, e.code);

export class SqliteWriterThread {
  private readonly pending = new ChurnTable<number, { resolve: (r: WriteReply & { ok: true }) => void; reject: (err: Error) => void }>();
  private nextId = 1;
  private failure: Error | undefined;
  private readonly encoder = new UnitBatchEncoder();

  private constructor(private readonly worker: Worker) {
    worker.on('message', (m: FromWriter) => {
      if (m.t !== 'reply') return;
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (p === undefined) return;
      if (m.ok) p.resolve(m);
      else p.reject(fromWire(m.error));
    });
    const lost = (err: Error): void => {
      this.failure ??= err;
      for (const p of this.pending.values()) p.reject(this.failure);
      this.pending.clear();
    };
    worker.on('error', lost);
    worker.on('exit', (code) => lost(new Error(`the SQLite writer thread exited (${code})`)));
  }

  /** Starts the thread and opens its connection (with `pragmas`); rejects if it cannot. */
  static start(data: WriterWorkerData): Promise<SqliteWriterThread> {
    const worker = new Worker(WORKER_URL, { workerData: data });
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      const onExit = (code: number): void => reject(new Error(`the SQLite writer thread exited (${code}) before it was ready`));
      worker.on('error', onError);
      worker.on('exit', onExit);
      worker.once('message', (m: FromWriter) => {
        worker.off('error', onError);
        worker.off('exit', onExit);
        if (m.t === 'ready') resolve(new SqliteWriterThread(worker));
        else {
          void worker.terminate();
          reject(m.t === 'open-failed' ? fromWire(m.error) : new Error(`the SQLite writer thread answered ${m.t} before it was ready`));
        }
      });
    });
  }

  /**
   * Writes `units` in one transaction (isolated: each behind a savepoint),
   * sets their key reservations' counter values, and resolves with each
   * unit's own error when isolated.
   */
  async write(units: readonly EncodedUnit[], isolated: boolean): Promise<(Error | undefined)[] | undefined> {
    if (this.failure !== undefined) throw this.failure;
    const id = this.nextId++;
    const reply = await new Promise<WriteReply & { ok: true }>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      // The batch's own bytes, moved to the thread (unit-batch-codec.ts).
      const batch = this.encoder.encode(units);
      this.worker.postMessage({ id, batch, isolated } satisfies WriteRequest, [batch]);
    });
    let i = 0;
    for (const u of units) for (const r of u.reservations) r.last = reply.reserved[i++];
    return reply.unitErrors?.map((e) => (e === undefined ? undefined : fromWire(e)));
  }

  /** Closes the connection (after the writes sent so far) and ends the thread. */
  async close(): Promise<void> {
    if (this.failure !== undefined) {
      await this.worker.terminate();
      return;
    }
    const exited = new Promise<void>((r) => this.worker.once('exit', () => r()));
    this.worker.postMessage('close');
    await exited;
  }
}
