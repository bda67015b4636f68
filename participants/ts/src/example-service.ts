import type { ParticipantServer, SqliteBarrier, SqliteTx } from '@saga/sdk';

/** Seed data from PARTICIPANT_SEED (a JSON object; each service reads its own keys). */
export type Seed = Readonly<Record<string, unknown>>;

/** One example participant of the order scenario. */
export interface ExampleService {
  readonly name: string;
  /** Creates the business tables (idempotent). */
  migrate(tx: SqliteTx): Promise<void>;
  /** Inserts seed data with INSERT OR IGNORE; throws a clear Error on malformed seed data. */
  seed(tx: SqliteTx, seed: Seed): Promise<void>;
  /** Registers the service's actions, each guarded by the barrier and the fault switches. */
  register(server: ParticipantServer, barrier: SqliteBarrier): void;
}
