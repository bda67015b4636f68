import { pino, type Logger } from 'pino';

export type { Logger };

/** The logger used when none is passed in options: silent, libraries stay quiet unless asked. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
