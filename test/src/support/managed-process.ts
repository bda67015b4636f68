// A child process started by a test: waits for its {"listening":"host:port"}
// ready line, keeps the tail of its stderr for failure messages, and is killed
// only by its own pid.

import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { endpointOf, parseReadyLine } from './ready-line.js';

export interface StartOptions {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
  readonly readyTimeoutMs?: number;
  /** For programs without the JSON ready line: a stderr line that means "ready", and the address then. */
  readonly readyOnStderr?: { readonly pattern: RegExp; readonly address: string };
}

export class ManagedProcess {
  private stderrTail: string[] = [];
  /** Called with every stderr line from now on. */
  private readonly lineWatchers: Set<(line: string) => void>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
    readonly address: string,
    /** The ready line's other bound addresses by name (the coordinator's "metrics", "console"). */
    readonly endpoints: Readonly<Record<string, string>>,
    exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>,
    tail: string[],
    watchers: Set<(line: string) => void>,
  ) {
    this.exited = exited;
    this.stderrTail = tail;
    this.lineWatchers = watchers;
  }

  static async start(options: StartOptions): Promise<ManagedProcess> {
    const child = spawn(options.command, [...options.args], {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const tail: string[] = [];
    const watchers = new Set<(line: string) => void>();
    let readyFromStderr: ((address: string) => void) | undefined;
    let endpoints: Readonly<Record<string, string>> = {};
    createInterface({ input: child.stderr }).on('line', (line) => {
      for (const w of watchers) w(line);
      tail.push(line);
      if (tail.length > 50) tail.shift();
      if (options.readyOnStderr?.pattern.test(line)) readyFromStderr?.(options.readyOnStderr.address);
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    const address = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${options.name}: no ready line within ${options.readyTimeoutMs ?? 30_000} ms\n${tail.join('\n')}`)),
        options.readyTimeoutMs ?? 30_000,
      );
      readyFromStderr = (address) => {
        clearTimeout(timer);
        resolve(address);
      };
      const lines = createInterface({ input: child.stdout });
      lines.on('line', (line) => {
        const ready = parseReadyLine(line);
        if (ready === undefined) return;
        endpoints = ready.endpoints;
        clearTimeout(timer);
        resolve(ready.address);
      });
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      void exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`${options.name} exited (${code ?? signal}) before it was ready\n${tail.join('\n')}`));
      });
    });
    return new ManagedProcess(options.name, child, address, endpoints, exited, tail, watchers);
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** A bound address the ready line named (e.g. "metrics"); throws when it did not. */
  endpoint(name: string): string {
    return endpointOf(this.endpoints, this.name, name);
  }

  get port(): number {
    return Number(this.address.slice(this.address.lastIndexOf(':') + 1));
  }

  logs(): string {
    return this.stderrTail.join('\n');
  }

  /**
   * Watches stderr from now on for a line matching `match` (the process's own
   * record of an event); the probe returned says whether one was seen.
   */
  watchLog(match: (line: string) => boolean): () => boolean {
    let seen = false;
    const watcher = (line: string): void => {
      if (!match(line)) return;
      seen = true;
      this.lineWatchers.delete(watcher);
    };
    this.lineWatchers.add(watcher);
    return () => seen;
  }

  /** SIGSTOP: the process is frozen (timers, sockets) until resume(). */
  pause(): void {
    this.child.kill('SIGSTOP');
  }

  /** SIGCONT after pause(). */
  resume(): void {
    this.child.kill('SIGCONT');
  }

  /** kill -9: no cleanup, no drain. */
  async crash(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM and wait (bounded; then SIGKILL). */
  async stop(timeoutMs = 15_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.exited;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const result = await this.exited;
    clearTimeout(timer);
    return result;
  }
}
