// The perf script reader of run-bench --perf: samples per thread become
// on-CPU µs per saga, with the kernel share, the leaf functions (JS names
// from node's perf map shortened) and each thread's role.

import { describe, expect, it } from 'vitest';
import { aggregatePerfScript, PERF_HZ } from './perf-threads.js';

const sample = (tid: number, leaf: string, ...callers: string[]): string[] => [`${tid}`, `\t    ffff0001 ${leaf}`, ...callers.map((c) => `\t    ffff0002 ${c}`), ''];

describe('aggregatePerfScript', () => {
  it('counts each sample once, by its leaf frame, per thread', async () => {
    const lines = [
      ...Array.from({ length: 6 }, () => sample(100, 'JS:*decide file:///repo/coordinator/dist/engine/saga-decider.js:42:5 (/tmp/perf-100.map)', 'Builtins_JSEntry (/usr/bin/node)')).flat(),
      ...Array.from({ length: 2 }, () => sample(100, 'finish_task_switch.isra.0 ([kernel.kallsyms])', 'schedule ([kernel.kallsyms])')).flat(),
      ...Array.from({ length: 5 }, () => sample(101, 'sqlite3VdbeExec (/repo/node_modules/better-sqlite3/build/Release/better_sqlite3.node)')).flat(),
      ...Array.from({ length: 5 }, () => sample(101, 'iowrite16 ([kernel.kallsyms])')).flat(),
      ...Array.from({ length: 4 }, () => sample(102, 'JS:~onClose file:///repo/coordinator/dist/grpc/http2-unary-channel.js:238:29 (/tmp/perf-100.map)', 'JS:*emit node:events:471:28 (/tmp/perf-100.map)')).flat(),
      ...Array.from({ length: 3 }, () => sample(103, 'v8::internal::Scavenger::ScavengeObject<v8::internal::FullHeapObjectSlot> (/usr/bin/node)')).flat(),
    ];
    const sagas = 2;
    const threads = await aggregatePerfScript(lines, 100, sagas, 3);
    const us = (n: number): number => (n * 1e6) / PERF_HZ / sagas;
    expect(threads.map((t) => [t.tid, t.role])).toEqual([
      [101, 'SQLite writer'],
      [100, 'main'],
      [102, 'participant channels'],
      [103, 'V8 helper (GC)'],
    ]);
    const main = threads.find((t) => t.tid === 100)!;
    expect(main.usPerSaga).toBeCloseTo(us(8));
    expect(main.kernelShare).toBeCloseTo(2 / 8);
    expect(main.top).toEqual([
      { symbol: 'JS decide (engine/saga-decider.js)', usPerSaga: us(6) },
      { symbol: '[kernel] finish_task_switch.isra.0', usPerSaga: us(2) },
    ]);
    expect(threads.find((t) => t.tid === 101)!.kernelShare).toBe(0.5);
    expect(threads.find((t) => t.tid === 102)!.top[0]?.symbol).toBe('JS onClose (grpc/http2-unary-channel.js)');
  });

  it('leaves out threads under 1 % of all samples', async () => {
    const lines = [...Array.from({ length: 200 }, () => sample(1, 'work (/usr/bin/node)')).flat(), ...sample(2, 'rare (/usr/bin/node)')];
    expect((await aggregatePerfScript(lines, 1, 1)).map((t) => t.tid)).toEqual([1]);
  });
});
