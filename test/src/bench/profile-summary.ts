#!/usr/bin/env node
// Summarises a V8 .cpuprofile (node --cpu-prof): self time per function and
// per package/file, so BENCHMARKS.md can say where the coordinator's time goes.
// Usage: node test/dist/bench/profile-summary.js FILE.cpuprofile [--top 40]

import { readFileSync } from 'node:fs';
import { Args } from './args.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

function where(url: string): string {
  if (url === '') return '(native/V8)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? url);
  }
  if (url.startsWith('node:')) return url;
  const m = /\/(coordinator|proto|sdk)\/dist\/(.+)$/.exec(url);
  return m ? `${m[1]}/${m[2]}` : url;
}

const args = new Args(process.argv.slice(2).filter((a, i) => i > 0 || a.startsWith('--')));
const file = process.argv[2];
const top = args.number('top', 40);
args.rejectUnknown();
if (file === undefined || file.startsWith('--')) throw new Error('usage: profile-summary FILE.cpuprofile [--top N]');
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfUs = new Map<number, number>();
profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
const total = profile.endTime - profile.startTime;
const perFunction = new Map<string, number>();
const perWhere = new Map<string, number>();
for (const [id, us] of selfUs) {
  const n = byId.get(id);
  if (n === undefined) continue;
  const f = n.callFrame;
  const key = `${f.functionName || '(anonymous)'}  ${where(f.url)}:${f.lineNumber + 1}`;
  perFunction.set(key, (perFunction.get(key) ?? 0) + us);
  const w = f.functionName === '(idle)' || f.functionName === '(program)' || f.functionName === '(garbage collector)' ? f.functionName : where(f.url);
  perWhere.set(w, (perWhere.get(w) ?? 0) + us);
}
// Inclusive time: a function's own samples and those of everything it called
// (counted once per sample even when the function recurses).
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const inclusive = new Map<string, number>();
const name = (n: ProfileNode): string => `${n.callFrame.functionName || '(anonymous)'}  ${where(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
for (const [id, us] of selfUs) {
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const n = byId.get(cur);
    if (n === undefined) break;
    const k = name(n);
    if (seen.has(k)) continue;
    seen.add(k);
    inclusive.set(k, (inclusive.get(k) ?? 0) + us);
  }
}
const pct = (us: number): string => `${((us * 100) / total).toFixed(1).padStart(5)} %`;
console.log(`profile ${file}: ${(total / 1e6).toFixed(1)} s, ${profile.samples.length} samples`);
console.log('\nself time by package / file:');
for (const [k, v] of [...perWhere].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`${pct(v)}  ${k}`);
console.log('\nself time by function:');
for (const [k, v] of [...perFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(v)}  ${k}`);
console.log('\ninclusive time by function:');
for (const [k, v] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(v)}  ${k}`);
