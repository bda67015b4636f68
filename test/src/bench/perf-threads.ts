// On-CPU time per coordinator thread from Linux perf (run-bench --perf): perf
// samples a thread only while it runs, so its figures are CPU. V8's
// --cpu-prof samples wall-clock and books a thread's time off the CPU (a
// wake-up that hands the core to the thread it woke, a page fault) to the
// frame it was in (BENCHMARKS.md, session 10).

import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/** Samples per second per thread (perf record -F). */
export const PERF_HZ = 999;

export interface PerfSymbol {
  readonly symbol: string;
  readonly usPerSaga: number;
}

export interface PerfThread {
  readonly tid: number;
  /** What the thread is, from what it ran: main, SQLite writer, participant channels, V8 helper, other. */
  readonly role: string;
  readonly usPerSaga: number;
  /** Share of its samples in the kernel (system calls, context switches, interrupts). */
  readonly kernelShare: number;
  readonly top: readonly PerfSymbol[];
}

/** Records the process's threads for `seconds` (call-graph, cpu-clock); resolves when perf has written `file`. */
export function recordPerf(pid: number, file: string, seconds: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('perf', ['record', '-F', String(PERF_HZ), '-g', '-p', String(pid), '-o', file, '--', 'sleep', String(seconds)], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', (err) => reject(new Error(`perf could not start (is it installed? apt-get install linux-perf): ${err.message}`)));
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`perf record exited ${code}: ${stderr.trim().slice(-400)}`))));
  });
}

interface Frame {
  readonly symbol: string;
  readonly dso: string;
}

/** One frame line of perf script -F tid,ip,sym,dso ("<ip> <symbol> (<dso>)"): its symbol and DSO. */
function parseFrame(line: string): Frame {
  const body = line.trim().replace(/^[0-9a-f]+\s+/, '');
  const m = /^(.*) \((.*)\)$/.exec(body);
  return m === null ? { symbol: body, dso: '' } : { symbol: m[1] ?? '', dso: m[2] ?? '' };
}

function leafName(f: Frame): string {
  if (f.dso.includes('kernel')) return `[kernel] ${f.symbol}`;
  if (/perf-\d+\.map$/.test(f.dso)) {
    // "JS:*name file:///…/coordinator/dist/x/y.js:12:3" → "JS name (x/y.js)"
    const js = /^JS:[*~^]?(\S*) (?:file:\/\/)?(\S+?)(?::\d+:\d+)?$/.exec(f.symbol);
    if (js !== null) return `JS ${js[1] || '(anonymous)'} (${(js[2] ?? '').replace(/^.*\/(coordinator|proto|sdk)\/dist\//, '').replace(/^.*node_modules\//, '')})`;
    return f.symbol;
  }
  const lib = f.dso.slice(f.dso.lastIndexOf('/') + 1);
  return `${f.symbol} [${lib}]`;
}

function roleOf(tid: number, pid: number, frames: ReadonlyMap<string, number>, total: number): string {
  if (tid === pid) return 'main';
  let sqlite = 0;
  let http2 = 0;
  let gc = 0;
  for (const [name, n] of frames) {
    if (name.includes('better_sqlite3')) sqlite += n;
    if (name.includes('http2')) http2 += n;
    if (/Scaveng|Marking|Sweep|Compactor|Evacuat/.test(name)) gc += n;
  }
  if (sqlite > total * 0.05) return 'SQLite writer';
  if (http2 > total * 0.02) return 'participant channels';
  if (gc > total * 0.3) return 'V8 helper (GC)';
  return 'other';
}

/**
 * Reads `file` with perf script: for each thread of `pid`, its on-CPU µs per
 * saga (`sagas` completed in the recording), kernel share and hottest leaf
 * symbols. Threads under 1 % of the total are left out.
 */
export async function summarizePerf(file: string, pid: number, sagas: number, topN = 8): Promise<PerfThread[]> {
  const child = spawn('perf', ['script', '-i', file, '-F', 'tid,ip,sym,dso'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const threads = await aggregatePerfScript(createInterface({ input: child.stdout }), pid, sagas, topN);
  const code = await exited;
  if (code !== 0) throw new Error(`perf script exited ${code}`);
  return threads;
}

/** The per-thread summary of `perf script -F tid,ip,sym,dso` output: a "tid" line per sample, then its frames leaf first, then a blank line. */
export async function aggregatePerfScript(lines: AsyncIterable<string> | Iterable<string>, pid: number, sagas: number, topN = 8): Promise<PerfThread[]> {
  const threads = new Map<number, { samples: number; kernel: number; leaves: Map<string, number> }>();
  let tid: number | undefined;
  let leafSeen = false;
  for await (const line of lines) {
    if (line.trim() === '') {
      tid = undefined;
      continue;
    }
    if (!/^\s/.test(line)) {
      tid = Number(line.trim().split(/\s+/)[0]);
      leafSeen = false;
      continue;
    }
    if (tid === undefined || leafSeen) continue;
    leafSeen = true;
    const frame = parseFrame(line);
    const name = leafName(frame);
    const t = threads.get(tid) ?? { samples: 0, kernel: 0, leaves: new Map<string, number>() };
    t.samples += 1;
    if (frame.dso.includes('kernel')) t.kernel += 1;
    t.leaves.set(name, (t.leaves.get(name) ?? 0) + 1);
    threads.set(tid, t);
  }
  const all = [...threads.values()].reduce((s, t) => s + t.samples, 0);
  const us = (samples: number): number => (samples * 1e6) / PERF_HZ / Math.max(1, sagas);
  return [...threads]
    .filter(([, t]) => t.samples >= all * 0.01)
    .sort((a, b) => b[1].samples - a[1].samples)
    .map(([id, t]) => ({
      tid: id,
      role: roleOf(id, pid, t.leaves, t.samples),
      usPerSaga: us(t.samples),
      kernelShare: t.kernel / t.samples,
      top: [...t.leaves]
        .sort((a, b) => b[1] - a[1])
        .slice(0, topN)
        .map(([symbol, n]) => ({ symbol, usPerSaga: us(n) })),
    }));
}

/** The summary as report lines. */
export function perfLines(threads: readonly PerfThread[], fmt: (n: number, digits?: number) => string): string[] {
  const lines = ['on-CPU time per thread (perf; µs per saga, hottest leaf functions):'];
  for (const t of threads) {
    lines.push(`  ${t.role.padEnd(22)} ${fmt(t.usPerSaga, 1).padStart(7)} µs  (tid ${t.tid}, kernel ${fmt(t.kernelShare * 100)} %)`);
    for (const s of t.top) lines.push(`      ${fmt(s.usPerSaga, 1).padStart(6)}  ${s.symbol.slice(0, 110)}`);
  }
  return lines;
}
