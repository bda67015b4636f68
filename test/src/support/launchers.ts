// Launchers for the real processes tests run: the coordinator, participants in
// three languages, and nats-server with JetStream.

import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ManagedProcess } from './managed-process.js';
import { COORDINATOR_MAIN, GO_PARTICIPANT_BIN, PYTHON_PARTICIPANT_DIR, TS_PARTICIPANT_MAIN } from './repo-paths.js';

export interface CoordinatorLaunch {
  /** The coordinator's store: a SQLite file path, or a postgres:// URL (see store-backends.ts). */
  readonly db: string;
  readonly participants: Readonly<Record<string, string>>;
  readonly env?: Readonly<Record<string, string>>;
  /** Reuse a port (restart after a crash); default ephemeral. */
  readonly port?: number;
}

export function startCoordinator(launch: CoordinatorLaunch): Promise<ManagedProcess> {
  return ManagedProcess.start({
    name: 'coordinator',
    command: process.execPath,
    args: [COORDINATOR_MAIN],
    env: {
      SAGA_LISTEN: `127.0.0.1:${launch.port ?? 0}`,
      ...(launch.db.startsWith('postgres://') ? { SAGA_DATABASE_URL: launch.db } : { SAGA_DB: launch.db }),
      SAGA_PARTICIPANTS: Object.entries(launch.participants)
        .map(([name, address]) => `${name}=${address}`)
        .join(','),
      SAGA_LOG_LEVEL: 'warn',
      ...launch.env,
    },
  });
}

export type ParticipantLanguage = 'ts' | 'python' | 'go';

export interface ParticipantLaunch {
  readonly db: string;
  readonly seed?: unknown;
  readonly port?: number;
  readonly env?: Readonly<Record<string, string>>;
}

/** A TypeScript example participant: orders, stock, points or notification. */
export function startTsParticipant(service: string, launch: ParticipantLaunch): Promise<ManagedProcess> {
  return ManagedProcess.start({
    name: `ts-${service}`,
    command: process.execPath,
    args: [TS_PARTICIPANT_MAIN, service],
    env: participantEnv(launch, { PARTICIPANT_SERVICE: service }),
  });
}

/** The Python payment participant (participants/python; its setup script must have run). */
export function startPythonParticipant(launch: ParticipantLaunch): Promise<ManagedProcess> {
  return ManagedProcess.start({
    name: 'python-payment',
    command: join(PYTHON_PARTICIPANT_DIR, '.venv', 'bin', 'python'),
    args: ['-m', 'payment_participant'],
    cwd: PYTHON_PARTICIPANT_DIR,
    env: participantEnv(launch, {}),
  });
}

/** The Go stock participant (participants/go/bin; its build script must have run). */
export function startGoParticipant(launch: ParticipantLaunch): Promise<ManagedProcess> {
  return ManagedProcess.start({
    name: 'go-stock',
    command: GO_PARTICIPANT_BIN,
    args: [],
    env: participantEnv(launch, {}),
  });
}

function participantEnv(launch: ParticipantLaunch, extra: Record<string, string>): Record<string, string> {
  return {
    PARTICIPANT_HOST: '127.0.0.1',
    PARTICIPANT_PORT: String(launch.port ?? 0),
    PARTICIPANT_DB: launch.db,
    PARTICIPANT_SEED: JSON.stringify(launch.seed ?? {}),
    ...extra,
    ...launch.env,
  };
}

/** nats-server with JetStream on an ephemeral-ish loopback port, storing in `dir`. */
export async function startNatsServer(dir: string, port?: number, options: { maxPayload?: number } = {}): Promise<ManagedProcess & { url: string }> {
  const binary = ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'].find((p) => existsSync(p)) ?? 'nats-server';
  const chosen = port ?? (await freePort());
  // max_payload has no command-line flag: a config file carries it.
  const config: string[] = [];
  if (options.maxPayload !== undefined) {
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'max-payload.conf');
    writeFileSync(file, `max_payload: ${options.maxPayload}\n`);
    config.push('-c', file);
  }
  const proc = await ManagedProcess.start({
    name: 'nats-server',
    command: binary,
    args: ['-a', '127.0.0.1', '-p', String(chosen), '-js', '-sd', dir, ...config],
    readyOnStderr: { pattern: /Server is ready/, address: `127.0.0.1:${chosen}` },
  });
  return Object.assign(proc, { url: `nats://127.0.0.1:${chosen}` });
}

/** A loopback port free right now (the OS picks it). */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}
