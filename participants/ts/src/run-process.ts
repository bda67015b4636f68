// The process life of every example participant: start it, print the
// {"listening":…} ready line on stdout, drain on SIGTERM/SIGINT and exit 0
// (1 if the drain fails, 1 if start-up fails).

import type { Logger } from 'pino';

export interface RunningProcess {
  close(): Promise<void>;
}

export function runProcess(logger: Logger, what: string, start: () => Promise<{ running: RunningProcess; listening: string }>): void {
  start().then(
    ({ running, listening }) => {
      process.stdout.write(`${JSON.stringify({ listening })}\n`);
      const shutdown = (signal: string): void => {
        logger.info({ signal }, 'shutting down');
        running.close().then(
          () => process.exit(0),
          (err: unknown) => {
            logger.error({ err }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      process.once('SIGTERM', () => shutdown('SIGTERM'));
      process.once('SIGINT', () => shutdown('SIGINT'));
    },
    (err: unknown) => {
      logger.fatal({ err }, `${what} failed to start`);
      process.exit(1);
    },
  );
}
