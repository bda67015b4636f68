// Messages between the embedded store and its writer thread
// (sqlite-writer-thread.ts, sqlite-writer-worker.ts).

export interface WriterWorkerData {
  readonly path: string;
  /** PRAGMAs of the writer connection, run once at open. */
  readonly pragmas: string;
}

/** Write the units of `batch` (unit-batch-codec.ts) in one transaction; `isolated`: each behind a savepoint. */
export interface WriteRequest {
  readonly id: number;
  readonly batch: ArrayBuffer;
  readonly isolated: boolean;
}

/** An error as it crosses the thread: its message and SQLite code (the store decides on the code). */
export interface WireError {
  readonly message: string;
  readonly code: string | undefined;
}

export type WriteReply =
  | {
      readonly id: number;
      readonly ok: true;
      /** The counter values of the units' key reservations, in unit order. */
      readonly reserved: readonly (number | undefined)[];
      /** isolated: each unit's own (constraint) error. */
      readonly unitErrors: readonly (WireError | undefined)[] | undefined;
    }
  | { readonly id: number; readonly ok: false; readonly error: WireError };

export type FromWriter = { readonly t: 'ready' } | { readonly t: 'open-failed'; readonly error: WireError } | ({ readonly t: 'reply' } & WriteReply);
