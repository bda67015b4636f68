// Runs the real `saga` binary (cli/dist/main.js) as a child process and
// collects its exit code and output.

import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../support/repo-paths.js';

export const CLI_MAIN = join(REPO_ROOT, 'cli', 'dist', 'main.js');

export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** `saga ...args`; env adds to (or, with undefined, removes from) this process's environment. */
export function runSaga(args: readonly string[], env: Readonly<Record<string, string | undefined>> = {}, timeoutMs = 30_000): Promise<CliRun> {
  return spawnSaga(args, env, timeoutMs).done;
}

/** Parses the one JSON document a `--json` command printed. */
export function jsonOf(run: CliRun): any {
  return JSON.parse(run.stdout);
}

/** A `saga` command left running (e.g. watch): its output so far, and its end. */
export interface RunningCli {
  readonly stdout: () => string;
  readonly done: Promise<CliRun>;
}

export function spawnSaga(args: readonly string[], env: Readonly<Record<string, string | undefined>> = {}, timeoutMs = 60_000): RunningCli {
  let stdout = '';
  let stderr = '';
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete childEnv[k];
  const child = spawn(process.execPath, [CLI_MAIN, ...args], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const done = new Promise<CliRun>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
  return { stdout: () => stdout, done };
}
