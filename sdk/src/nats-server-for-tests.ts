// For the SDK's own tests (not exported): a real nats-server with JetStream on
// an ephemeral loopback port, stopped by the test that started it.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';

export interface TestNatsServer {
  readonly url: string;
  /** Kills the server (SIGKILL) and resolves once it has exited. */
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr !== null ? addr.port : 0));
    });
  });
}

/** Starts nats-server with JetStream storing in `storeDir`; resolves once it is ready. */
export async function startNatsServer(storeDir: string): Promise<TestNatsServer> {
  // The Debian package's places first, then whatever PATH holds.
  const binary = ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'].find((p) => existsSync(p)) ?? 'nats-server';
  const port = await freePort();
  const child = spawn(binary, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir], { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('nats-server did not start')), 15_000);
    createInterface({ input: child.stderr }).on('line', (line) => {
      if (line.includes('Server is ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`nats-server exited (${code})`)));
    child.once('error', (err) =>
      reject(new Error(`nats-server did not start (${err.message}): run \`npm test\` (installs it) or \`sudo apt-get install -y nats-server\``)),
    );
  });
  return {
    url: `nats://127.0.0.1:${port}`,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
