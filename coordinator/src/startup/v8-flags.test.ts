// Which flags the entry point sets, and that setting them at run time takes
// effect: V8 then makes no pretenuring decision at all (its own trace says so).
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { COORDINATOR_V8_FLAGS, v8FlagsToSet } from './v8-flags.js';

describe('v8FlagsToSet', () => {
  it.each([
    { name: 'plain start', execArgv: [], nodeOptions: undefined, want: ['--no-allocation-site-pretenuring'] },
    { name: 'other flags', execArgv: ['--max-old-space-size=512', '--trace-gc'], nodeOptions: '--enable-source-maps', want: ['--no-allocation-site-pretenuring'] },
    { name: 'operator turned it on', execArgv: ['--allocation-site-pretenuring'], nodeOptions: undefined, want: [] },
    { name: 'operator turned it off', execArgv: ['--no-allocation-site-pretenuring'], nodeOptions: undefined, want: [] },
    { name: 'underscores', execArgv: ['--allocation_site_pretenuring'], nodeOptions: undefined, want: [] },
    { name: 'no_ prefix', execArgv: ['--no_allocation_site_pretenuring'], nodeOptions: undefined, want: [] },
    { name: 'in NODE_OPTIONS', execArgv: [], nodeOptions: '--max-old-space-size=256  --allocation-site-pretenuring', want: [] },
    { name: 'a longer flag sharing the prefix', execArgv: ['--allocation-site-pretenuring-extra'], nodeOptions: undefined, want: ['--no-allocation-site-pretenuring'] },
  ])('$name', ({ execArgv, nodeOptions, want }) => {
    expect(v8FlagsToSet(execArgv, nodeOptions)).toEqual(want);
  });

  it('names only flags this Node accepts', () => {
    const r = spawnSync(process.execPath, [...COORDINATOR_V8_FLAGS, '-e', '0'], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});

describe('the flags set at run time', () => {
  // Objects from one site that all survive: V8 decides to pretenure the site.
  const workload = `
    const keep = [];
    const make = (i) => ({ a: i, b: [i, i + 1], c: { d: i } });
    for (let r = 0; r < 20; r++) { for (let i = 0; i < 200000; i++) keep.push(make(i)); if (keep.length > 2e6) keep.length = 0; }
  `;
  // What applyCoordinatorV8Flags does, in a process of its own (flags are per process).
  const run = (apply: boolean): string => {
    const flags = apply ? v8FlagsToSet([], undefined) : [];
    const prelude = `for (const f of ${JSON.stringify(flags)}) require('node:v8').setFlagsFromString(f);`;
    const r = spawnSync(process.execPath, ['--trace-pretenuring-statistics', '-e', `${prelude}${workload}`], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    expect(r.status, r.stderr).toBe(0);
    return r.stdout;
  };

  it('stops pretenuring decisions (and without it V8 makes them)', () => {
    expect(run(false)).toMatch(/=> tenure/);
    expect(run(true)).not.toMatch(/=> tenure/);
  });
});
