// V8 flags the coordinator runs with, set from its entry point before any
// saga is handled (V8 flags are per process: the worker threads get them too).
//
// --no-allocation-site-pretenuring: V8 learns, per allocation site, whether
// its objects survive, and then allocates them straight in the old generation.
// A coordinator's per-saga objects do survive while a burst is in flight (a
// cold start under load holds thousands for seconds), so sites that build a
// call or a saga get pretenured; from then on every saga has old objects
// pointing at its young ones. Old objects are freed only by a mark-compact, so
// until one runs they keep the saga's young objects alive through each
// scavenge, which copies and promotes them; their sites then look long-lived
// too. Every scavenge then copies most of what the sagas allocated, and its
// pause stalls every saga in flight (BENCHMARKS.md, "Session 7").

import v8 from 'node:v8';

/** The flags set unless the operator chose them (either polarity) on the command line or in NODE_OPTIONS. */
export const COORDINATOR_V8_FLAGS: readonly string[] = ['--no-allocation-site-pretenuring'];

/** V8 accepts dashes and underscores alike in a flag's name. */
function flagName(arg: string): string {
  return arg.replace(/^--(no-|no_)?/, '').replace(/=.*$/, '').replace(/_/g, '-');
}

/** Which of COORDINATOR_V8_FLAGS to set, given how node was started. */
export function v8FlagsToSet(execArgv: readonly string[], nodeOptions: string | undefined): string[] {
  const given = new Set([...execArgv, ...(nodeOptions ?? '').split(/\s+/)].filter((a) => a.startsWith('--')).map(flagName));
  return COORDINATOR_V8_FLAGS.filter((flag) => !given.has(flagName(flag)));
}

/** Sets the flags this process was not started with; returns those it set. */
export function applyCoordinatorV8Flags(execArgv: readonly string[], nodeOptions: string | undefined): string[] {
  const flags = v8FlagsToSet(execArgv, nodeOptions);
  for (const flag of flags) v8.setFlagsFromString(flag);
  return flags;
}
