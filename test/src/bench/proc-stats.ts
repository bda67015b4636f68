// What the kernel says about a process (Linux /proc): CPU time consumed and
// resident memory, now and at its peak.

import { readdirSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

let ticksPerSecond: number | undefined;

/** Clock ticks per second of /proc/<pid>/stat times (getconf CLK_TCK, almost always 100). */
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** utime + stime in ms of a /proc stat file (a process's or one thread's). */
function statCpuMs(path: string): number {
  const stat = readFileSync(path, 'utf8');
  // The command name (field 2) may contain spaces; fields after it are fixed.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  return ((utime + stime) * 1000) / clockTicks();
}

/** User + system CPU time of the process so far, in ms (utime + stime of /proc/<pid>/stat). */
export function cpuTimeMs(pid: number): number {
  return statCpuMs(`/proc/${pid}/stat`);
}

/**
 * CPU ms of a process's live threads, and of its main thread alone (the thread
 * whose id is the pid: Node's event loop). Node 20 has no
 * process.threadCpuUsage(); /proc/<pid>/task/<tid>/stat is the kernel's own
 * account. Node 20 names every thread "node", so the others (the libuv pool
 * that runs SQLite, V8's GC/JIT helpers, worker threads) are one figure. A
 * thread that exited takes its time with it; Node's live as long as the process.
 */
export function threadCpuMs(pid: number): { main: number; total: number } {
  let main = 0;
  let total = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const ms = statCpuMs(`/proc/${pid}/task/${tid}/stat`);
      total += ms;
      if (tid === String(pid)) main = ms;
    } catch {
      // exited meanwhile
    }
  }
  return { main, total };
}

/**
 * CPU ms of a process and its children alive now, plus the children it
 * reaped (cutime + cstime): a PostgreSQL server and its backends.
 */
export function processTreeCpuMs(pid: number): number {
  const fields = (p: string): string[] => {
    const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  };
  const own = fields(String(pid));
  let ticks = Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14]);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const f = fields(entry);
      if (Number(f[1]) === pid) ticks += Number(f[11]) + Number(f[12]);
    } catch {
      // exited meanwhile
    }
  }
  return (ticks * 1000) / clockTicks();
}

export interface MemoryStats {
  /** Resident set size now, MiB. */
  readonly rssMiB: number;
  /** Peak resident set size (VmHWM), MiB. */
  readonly peakRssMiB: number;
}

export function memory(pid: number): MemoryStats {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string): number => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    return m ? Number(m[1]) : 0;
  };
  return { rssMiB: kib('VmRSS') / 1024, peakRssMiB: kib('VmHWM') / 1024 };
}

/** The machine, for the report. */
export function machine(): { cpus: string; cores: number; memGiB: number; kernel: string; node: string } {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? 'unknown';
  const cores = cpuinfo.split('\n').filter((l) => l.startsWith('processor')).length;
  const memKiB = Number(/^MemTotal:\s+(\d+)/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 0);
  const kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  return { cpus: model, cores, memGiB: Math.round(memKiB / 1024 / 1024), kernel, node: process.version };
}

/**
 * CPU time of the whole machine so far, in ms summed over cores: busy (not
 * idle/iowait; steal included) and total, and steal alone (time a virtual
 * machine's CPUs were runnable but the host ran something else).
 */
export function boxCpuMs(): { busyMs: number; totalMs: number; stealMs: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const f = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = f;
  const busy = user + nice + system + irq + softirq + steal;
  const tick = 1000 / clockTicks();
  return { busyMs: busy * tick, totalMs: (busy + idle + iowait) * tick, stealMs: steal * tick };
}

/**
 * Waits until other work on the machine stays below `maxBusy` (fraction of all
 * cores) for `sampleMs`, at most `timeoutMs`. Returns the last busy fraction.
 */
export async function waitForQuiet(maxBusy: number, sampleMs: number, timeoutMs: number, report: (busy: number) => void): Promise<number> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const a = boxCpuMs();
    await new Promise((r) => setTimeout(r, sampleMs));
    const b = boxCpuMs();
    const busy = (b.busyMs - a.busyMs) / Math.max(1, b.totalMs - a.totalMs);
    if (busy <= maxBusy || Date.now() > end) return busy;
    report(busy);
  }
}
