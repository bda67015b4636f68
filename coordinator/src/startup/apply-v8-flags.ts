// Imported first by main.ts, so that the flags (v8-flags.ts) are set before
// the rest of the coordinator's modules are even loaded.

import { applyCoordinatorV8Flags } from './v8-flags.js';

/** The V8 flags main.ts set, for its start-up log line. */
export const appliedV8Flags: readonly string[] = applyCoordinatorV8Flags(process.execArgv, process.env.NODE_OPTIONS);
