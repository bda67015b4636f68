// Start-up mistakes end in one line naming the setting and the cause, exit 2,
// before recovery starts; a NATS server without JetStream is named as the cause.

import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startCoordinator } from '../support/launchers.js';
import { ManagedProcess } from '../support/managed-process.js';
import { COORDINATOR_MAIN } from '../support/repo-paths.js';
import { createTestCa, type Issued } from '../support/test-certificates.js';
import { testDir } from '../support/test-dir.js';
import { waitFor } from '../support/wait-for.js';

const dir = testDir('startup-errors');
let server: Issued;
let other: Issued;
let occupied: Server;
let occupiedPort: number;

beforeAll(async () => {
  const ca = createTestCa(dir.path);
  server = ca.issue('server', 'localhost', 'DNS:localhost');
  other = ca.issue('other', 'other', 'DNS:other');
  occupied = createServer();
  await new Promise<void>((resolve) => occupied.listen(0, '127.0.0.1', resolve));
  occupiedPort = (occupied.address() as { port: number }).port;
});

afterAll(async () => {
  await new Promise((resolve) => occupied.close(resolve));
  dir.remove();
});

function run(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [COORDINATOR_MAIN],
      { env: { ...process.env, SAGA_LISTEN: '127.0.0.1:0', SAGA_DB: dir.file(`c-${Math.random()}.db`), SAGA_LOG_LEVEL: 'info', ...env }, timeout: 30_000 },
      (_err, _stdout, stderr) => resolve({ code: child.exitCode, stderr }),
    );
  });
}

function config(content: unknown): string {
  const path = dir.file(`config-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(path, JSON.stringify(content));
  return path;
}

describe('start-up errors', () => {
  const cases: [string, () => Record<string, string>, RegExp][] = [
    ['the listen port is in use', () => ({ SAGA_LISTEN: `127.0.0.1:${occupiedPort}` }), /^cannot start: listen: 127\.0\.0\.1:\d+ is already in use/],
    ['the TLS certificate file is missing', () => ({ SAGA_CONFIG: config({ tls: { certFile: dir.file('nope.pem'), keyFile: server.keyFile } }) }), /^cannot start: tls\.certFile: cannot read ".*nope\.pem": no such file/],
    [
      'the TLS key file cannot be read',
      () => {
        const notAFile = dir.file('a-directory');
        mkdirSync(notAFile, { recursive: true });
        return { SAGA_CONFIG: config({ tls: { certFile: server.certFile, keyFile: notAFile } }) };
      },
      /^cannot start: tls\.keyFile: cannot read/,
    ],
    ['the key does not match the certificate', () => ({ SAGA_CONFIG: config({ tls: { certFile: server.certFile, keyFile: other.keyFile } }) }), /^cannot start: tls\.keyFile: does not match the certificate of tls\.certFile/],
    ['the client CA file is missing', () => ({ SAGA_CONFIG: config({ tls: { ...server, clientCaFile: dir.file('no-ca.pem') } }) }), /^cannot start: tls\.clientCaFile: cannot read/],
  ];
  for (const [title, env, message] of cases) {
    it(`${title}: one line naming the setting, exit 2, before recovery`, async () => {
      const { code, stderr } = await run(env());
      expect(code).toBe(2);
      const lines = stderr.trim().split('\n');
      expect(lines, stderr).toHaveLength(1);
      expect(lines[0]).toMatch(message);
    });
  }
});

describe('NATS without JetStream', () => {
  let nats: ManagedProcess | undefined;
  let coordinator: ManagedProcess | undefined;
  afterAll(async () => {
    await coordinator?.stop();
    await nats?.stop();
  });

  it('logs one error naming the cause: JetStream is not enabled', async () => {
    const port = await freePort();
    const binary = ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'].find((p) => existsSync(p)) ?? 'nats-server';
    nats = await ManagedProcess.start({
      name: 'nats-server-no-js',
      command: binary,
      args: ['-a', '127.0.0.1', '-p', String(port)],
      readyOnStderr: { pattern: /Server is ready/, address: `127.0.0.1:${port}` },
    });
    coordinator = await startCoordinator({
      db: dir.file('nats.db'),
      participants: {},
      env: { SAGA_NATS_URL: `nats://127.0.0.1:${port}`, SAGA_LOG_LEVEL: 'info' },
    });
    const line = await waitFor(
      () => coordinator!.logs().split('\n').find((l) => l.includes('runs without JetStream')),
      'the coordinator to log that NATS runs without JetStream',
      20_000,
    );
    expect(JSON.parse(line)).toMatchObject({ level: 50 });
    expect(line).toContain('-js');
  });
});
