// A small tmpfs mounted for one test (the disk that fills up), as root or
// through `sudo -n`; unmounted afterwards.

import { execFileSync } from 'node:child_process';

function run(args: string[]): void {
  const asRoot = process.getuid?.() === 0;
  const [cmd, rest] = asRoot ? [args[0] ?? '', args.slice(1)] : ['sudo', ['-n', ...args]];
  execFileSync(cmd, rest, { stdio: 'pipe', timeout: 30_000 });
}

/** Mounts a tmpfs of `sizeBytes` on the existing directory `path`; returns the unmount. */
export function mountTmpfs(path: string, sizeBytes: number): () => void {
  try {
    run(['mount', '-t', 'tmpfs', '-o', `size=${sizeBytes},mode=0755`, 'tmpfs', path]);
  } catch (err) {
    throw new Error(`mounting a tmpfs on ${path} needs root or passwordless sudo: ${(err as Error).message}`);
  }
  return () => run(['umount', path]);
}
