import { ParticipantServer, SqliteBarrier, type BoundAddress, type Logger } from '@saga/sdk';
import type { ParticipantConfig } from './participant-config.js';
import { SERVICES } from './services.js';

/** A running example participant. */
export interface RunningParticipant {
  readonly address: BoundAddress;
  /** The barrier, which owns the service's database connection (tests read business tables through it). */
  readonly barrier: SqliteBarrier;
  /** Stops accepting calls, drains in-flight ones (bounded), closes the database. */
  close(): Promise<void>;
}

export interface StartParticipantOptions extends ParticipantConfig {
  logger: Logger;
  /** Bound of the graceful drain in ms. Default 5000 (the protocol's SIGTERM bound). */
  drainTimeoutMs?: number;
}

/** Opens the service's database (barrier + business tables + seed) and starts its gRPC server. */
export async function startParticipant(options: StartParticipantOptions): Promise<RunningParticipant> {
  const service = SERVICES[options.service];
  const logger = options.logger.child({ service: service.name });
  const barrier = new SqliteBarrier({ path: options.dbPath, logger });
  await barrier.start();
  const server = new ParticipantServer({
    host: options.host,
    port: options.port,
    logger,
    drainTimeoutMs: options.drainTimeoutMs ?? 5_000,
  });
  try {
    await barrier.transaction(async (tx) => {
      await service.migrate(tx);
      await service.seed(tx, options.seed);
    });
    service.register(server, barrier);
    const address = await server.start();
    let closing: Promise<void> | undefined;
    return {
      address,
      barrier,
      close: () => {
        closing ??= server.close().finally(() => barrier.close());
        return closing;
      },
    };
  } catch (err) {
    await server.close();
    await barrier.close();
    throw err;
  }
}
