// The events tests need a real nats-server with JetStream. If none is
// installed, install the Debian package (apt-get; as root, or with sudo -n),
// once per test process; fail with the command to run if that is not possible.

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const CANDIDATES = ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'];

let installed: string | undefined;

export function ensureNatsServer(): string {
  if (installed !== undefined) return installed;
  const found = CANDIDATES.find((p) => existsSync(p));
  if (found !== undefined) return (installed = found);
  const asRoot = process.getuid?.() === 0;
  const run = (args: string[]): void => {
    const [cmd, rest] = asRoot ? [args[0] ?? '', args.slice(1)] : ['sudo', ['-n', ...args]];
    execFileSync(cmd, rest, { stdio: 'inherit', timeout: 300_000, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  };
  try {
    run(['apt-get', 'update']);
    run(['apt-get', 'install', '-y', '--no-install-recommends', 'nats-server']);
  } catch (err) {
    throw new Error(
      `nats-server is not installed and installing it failed (${(err as Error).message}); run: sudo apt-get install -y nats-server`,
    );
  }
  const after = CANDIDATES.find((p) => existsSync(p));
  if (after === undefined) throw new Error('apt-get installed nats-server but no binary was found in /usr/sbin, /usr/bin or /usr/local/bin');
  return (installed = after);
}
