import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Seed } from '../example-service.js';
import type { ServiceName } from '../services.js';
import { startParticipant, type RunningParticipant } from '../start-participant.js';
import { ParticipantCaller } from './participant-caller.js';

/** An example participant on an ephemeral port with a fresh database in a temp dir (tests). */
export interface TempParticipant {
  readonly participant: RunningParticipant;
  readonly caller: ParticipantCaller;
  readonly dir: string;
  /** Rows of a query on the participant's database. */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

export async function startTempParticipant(service: ServiceName, seed: Seed = {}): Promise<TempParticipant> {
  const dir = mkdtempSync(join(tmpdir(), `participant-${service}-`));
  const participant = await startParticipant({
    service,
    host: '127.0.0.1',
    port: 0,
    dbPath: join(dir, `${service}.db`),
    seed,
    logger: pino({ level: 'silent' }),
    drainTimeoutMs: 2_000,
  });
  const caller = new ParticipantCaller(`127.0.0.1:${participant.address.port}`);
  return {
    participant,
    caller,
    dir,
    query: (sql, params = []) => participant.barrier.transaction((tx) => tx.all(sql, params)),
    async close() {
      caller.close();
      await participant.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
