// A throwaway PostgreSQL server for tests and benchmarks: initdb in a temp dir,
// the server on a free loopback port with its socket in that dir, a fresh
// database per test, and everything removed on stop(). The server refuses to
// run as root, so as root both run as the `postgres` user (Debian's package
// creates it; scripts/test-all.sh installs the package when it is missing).
// Exported as @saga/coordinator/testing; not used by the coordinator itself.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

export interface PostgresClusterOptions {
  /** Directory of initdb/postgres/pg_ctl. Default: $SAGA_PG_BIN, else the newest /usr/lib/postgresql/<n>/bin. */
  readonly binDir?: string;
  /**
   * fsync on the server. Default false: tests kill coordinators, not the
   * server, so its own fsyncs only slow them; benchmarks turn it on.
   */
  readonly fsync?: boolean;
  /** How long to wait for the server to accept connections. Default 60 s. */
  readonly startTimeoutMs?: number;
}

export interface PostgresCluster {
  readonly port: number;
  /** The server's (postmaster's) pid; its backends are its children. */
  readonly pid: number;
  /** The temp dir holding the data and the socket (removed by stop()). */
  readonly directory: string;
  /** A new empty database named after `name` (made unique); resolves with its postgres:// URL. */
  createDatabase(name: string): Promise<string>;
  /** Stops the server (fast shutdown) and removes its directory. */
  stop(): Promise<void>;
}

export async function startPostgresCluster(options: PostgresClusterOptions = {}): Promise<PostgresCluster> {
  const bin = options.binDir ?? process.env.SAGA_PG_BIN ?? defaultBinDir();
  const dir = mkdtempSync(join(tmpdir(), 'pg-cluster-'));
  const data = join(dir, 'data');
  const asRoot = process.getuid?.() === 0;
  const user = asRoot ? await postgresUser() : undefined;
  if (user !== undefined) chownSync(dir, user.uid, user.gid);
  // As root: run as postgres, the command exec'd in place (setpriv), so that
  // the child's pid is the server's own.
  const command = (program: string, args: readonly string[]): [string, string[]] =>
    user === undefined
      ? [join(bin, program), [...args]]
      : ['setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', '--', join(bin, program), ...args]];
  try {
    const [initdb, initArgs] = command('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync', '--no-instructions']);
    await run(initdb, initArgs);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed (is PostgreSQL installed? bin dir ${bin})`, { cause: err });
  }
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const [postgres, args] = command('postgres', [
      '-D', data, '-p', String(port),
      '-c', 'listen_addresses=127.0.0.1',
      '-c', `unix_socket_directories=${dir}`,
      '-c', `fsync=${options.fsync === true ? 'on' : 'off'}`,
      '-c', 'shared_buffers=32MB',
      '-c', 'max_connections=200',
      '-c', 'log_min_messages=warning',
    ]);
    const child = spawn(postgres, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      if (stderr.length < 16_384) stderr += chunk.toString();
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      await waitReady(port, child, options.startTimeoutMs ?? 60_000);
      return cluster(port, child, exited, dir);
    } catch (err) {
      child.kill('SIGKILL');
      await exited;
      // Another process may have taken the port between the probe and the bind.
      if (attempt < 3 && /could not bind|Address already in use/.test(stderr)) continue;
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`PostgreSQL did not start: ${stderr.trim()}`, { cause: err });
    }
  }
}

function cluster(port: number, child: ChildProcess, exited: Promise<void>, dir: string): PostgresCluster {
  let databases = 0;
  const url = (db: string): string => `postgres://postgres@127.0.0.1:${port}/${db}`;
  return {
    port,
    pid: child.pid ?? 0,
    directory: dir,
    async createDatabase(name: string): Promise<string> {
      databases += 1;
      const db = `${name.toLowerCase().replace(/[^a-z0-9]+/g, '_').slice(0, 50)}_${databases}`;
      const admin = new pg.Client({ connectionString: url('postgres') });
      await admin.connect();
      try {
        await admin.query(`CREATE DATABASE "${db}"`);
      } finally {
        await admin.end();
      }
      return url(db);
    },
    async stop(): Promise<void> {
      // SIGINT = fast shutdown: active sessions are ended, no checkpoint wait for clients.
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
      const stopped = await Promise.race([exited.then(() => true), sleep(30_000).then(() => false)]);
      if (!stopped) {
        child.kill('SIGKILL');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function waitReady(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error('the server exited');
    const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres', connectionTimeoutMillis: 2000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      await client.end();
      return;
    } catch (err) {
      await client.end().catch(() => undefined);
      if (Date.now() > until) throw err instanceof Error ? err : new Error(String(err));
    }
    await sleep(100);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function postgresUser(): Promise<{ uid: number; gid: number }> {
  const [uid, gid] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]);
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

function defaultBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  const newest = versions[0];
  if (newest === undefined) throw new Error(`no PostgreSQL under ${root}: install the postgresql package (scripts/test-all.sh does)`);
  return join(root, newest, 'bin');
}
