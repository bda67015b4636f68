// Entry point of the TypeScript example participants (participant protocol):
// PARTICIPANT_SERVICE=orders|stock|points|notification (or argv[2]),
// PARTICIPANT_HOST/PORT/DB/SEED. Prints {"listening":"host:port"} on stdout
// once ready; logs go to stderr; SIGTERM drains and exits 0.
import { pino } from 'pino';
import { loadParticipantConfig } from './participant-config.js';
import { startParticipant } from './start-participant.js';

const logger = pino({ level: process.env.LOG_LEVEL ?? 'info' }, pino.destination({ fd: 2, sync: true }));

async function main(): Promise<void> {
  const config = loadParticipantConfig(process.env, process.argv.slice(2));
  const participant = await startParticipant({ ...config, logger });
  process.stdout.write(`${JSON.stringify({ listening: `${config.host}:${participant.address.port}` })}\n`);

  const shutdown = (signal: string): void => {
    logger.info({ signal }, 'shutting down');
    participant.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  logger.fatal({ err }, 'participant failed to start');
  process.exit(1);
});
