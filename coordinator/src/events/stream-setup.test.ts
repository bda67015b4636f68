// Stream set-up against a real nats-server with JetStream: created when
// missing, brought to the configured subjects and limits when it exists,
// untouched when it already matches; and the subject list it asks for.

import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureStream, streamSubjects, type StreamSettings } from './stream-setup.js';

const logger = pino({ level: 'silent' });
let server: ChildProcess | undefined;
let dir: string | undefined;
let nc: NatsConnection | undefined;

beforeAll(async () => {
  const binary = ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'].find((p) => existsSync(p));
  if (binary === undefined) throw new Error('nats-server is not installed: run `npm test` (installs it) or `sudo apt-get install -y nats-server`');
  dir = mkdtempSync(join(tmpdir(), 'stream-setup-'));
  const port = await new Promise<number>((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr !== null ? addr.port : 0));
    });
  });
  const child = spawn(binary, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  server = child;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('nats-server did not start')), 10_000);
    child.stderr.on('data', (d: Buffer) => {
      if (d.toString().includes('Server is ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  nc = await connect({ servers: `nats://127.0.0.1:${port}`, timeout: 5000 });
});

afterAll(async () => {
  await nc?.close();
  server?.kill();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

const settings: StreamSettings = {
  name: 'SETUP_TEST',
  subjects: ['saga.events.>', 'saga.steps.>', 'saga.alerts.>'],
  retention: 'limits',
  storage: 'file',
  replicas: 1,
  maxAgeMs: 3_600_000,
  maxMsgs: 0,
  maxBytes: 0,
  duplicateWindowMs: 120_000,
};

describe('ensureStream', () => {
  it('creates the stream, updates its subjects and limits, and leaves a matching one alone', async () => {
    const jsm = await jetstreamManager(nc!, { timeout: 5000 });
    expect(await ensureStream(jsm, { ...settings, subjects: ['saga.events.>'] }, logger)).toBe('created');
    expect(await ensureStream(jsm, settings, logger)).toBe('updated');
    expect(await ensureStream(jsm, settings, logger)).toBe('unchanged');
    const info = await jsm.streams.info('SETUP_TEST');
    expect(info.config.subjects).toEqual(settings.subjects);
    expect(info.config.duplicate_window).toBe(120_000 * 1_000_000);
    expect(info.config.max_age).toBe(3_600_000 * 1_000_000);
    expect(info.config.max_msgs).toBe(-1);
  });
});

describe('streamSubjects', () => {
  it("always captures the coordinator's own subjects, plus the extra ones, without overlaps", () => {
    expect(streamSubjects('saga', [])).toEqual(['saga.events.>', 'saga.steps.>', 'saga.alerts.>']);
    expect(streamSubjects('saga', ['orders.>', 'orders.>'])).toEqual(['orders.>', 'saga.events.>', 'saga.steps.>', 'saga.alerts.>']);
    expect(streamSubjects('saga', ['saga.>'])).toEqual(['saga.>']);
    expect(streamSubjects('acme.saga', ['acme.*.events.>'])).toEqual(['acme.*.events.>', 'acme.saga.steps.>', 'acme.saga.alerts.>']);
  });
});
