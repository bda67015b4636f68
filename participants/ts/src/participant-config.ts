import { isServiceName, SERVICES, type ServiceName } from './services.js';
import type { Seed } from './example-service.js';

/** A participant process's configuration (participant protocol, "Start-up"). */
export interface ParticipantConfig {
  service: ServiceName;
  host: string;
  port: number;
  dbPath: string;
  seed: Seed;
}

/**
 * Reads PARTICIPANT_SERVICE (or the first argument), PARTICIPANT_HOST,
 * PARTICIPANT_PORT, PARTICIPANT_DB and PARTICIPANT_SEED. Throws an Error
 * naming the variable on anything invalid.
 */
export function loadParticipantConfig(env: NodeJS.ProcessEnv, args: readonly string[]): ParticipantConfig {
  const service = env.PARTICIPANT_SERVICE || args[0] || '';
  if (!isServiceName(service)) {
    throw new Error(`PARTICIPANT_SERVICE (or the first argument) must be one of ${Object.keys(SERVICES).join(', ')}; got "${service}"`);
  }
  const host = env.PARTICIPANT_HOST || '127.0.0.1';
  const portText = env.PARTICIPANT_PORT || '0';
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65_535) {
    throw new Error(`PARTICIPANT_PORT must be an integer in [0, 65535]; got "${portText}"`);
  }
  const dbPath = env.PARTICIPANT_DB ?? '';
  if (dbPath === '') throw new Error('PARTICIPANT_DB is required (path of the SQLite database)');
  let seed: unknown;
  try {
    seed = JSON.parse(env.PARTICIPANT_SEED || '{}');
  } catch {
    throw new Error('PARTICIPANT_SEED must be valid JSON');
  }
  if (typeof seed !== 'object' || seed === null || Array.isArray(seed)) {
    throw new Error('PARTICIPANT_SEED must be a JSON object');
  }
  return { service, host, port, dbPath, seed: seed as Seed };
}
