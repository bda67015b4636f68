import { existsSync } from 'node:fs';
import { TerminalError, type StepContext, type StepHandler, type TccBarrier } from '@saga/sdk';

// Fault switches of the participant protocol (test only): directives read
// from the call metadata `fault.execute` / `fault.compensate` (TCC:
// `fault.try` / `fault.confirm` / `fault.cancel`), e.g.
// "error@2" or "error-while-file=/tmp/down,sleep-after=500".

export type FaultOperation = 'execute' | 'compensate' | 'try' | 'confirm' | 'cancel';

export type FaultName = 'error-while-file' | 'error' | 'fail' | 'sleep-before' | 'sleep-after';

/** One parsed directive `name[=arg][@N]`. */
export interface FaultDirective {
  name: FaultName;
  /** The path (error-while-file) or the milliseconds (sleep-*). */
  arg: string | undefined;
  /** Applies to attempts 1..upToAttempt only; undefined = every attempt. */
  upToAttempt: number | undefined;
}

/** The directives that apply to one attempt, in the protocol's order of application. */
export interface FaultPlan {
  errorWhileFiles: string[];
  error: boolean;
  fail: boolean;
  sleepBeforeMs: number;
  sleepAfterMs: number;
}

/** error_code answered by the `fail` directive. */
export const INJECTED_FAILURE = 'INJECTED_FAILURE';

const NEEDS_ARG: Record<FaultName, boolean> = {
  'error-while-file': true,
  error: false,
  fail: false,
  'sleep-before': true,
  'sleep-after': true,
};

function isFaultName(name: string): name is FaultName {
  return Object.hasOwn(NEEDS_ARG, name);
}

/** The metadata key carrying the directives of an operation. */
export function faultKey(op: FaultOperation): string {
  return `fault.${op}`;
}

/**
 * Parses a comma-separated directive list. Throws a TerminalError
 * (INVALID_FAULT_DIRECTIVE) for anything malformed, so that a broken test is
 * loud instead of silently fault-free. Paths cannot contain commas.
 */
export function parseFaults(value: string): FaultDirective[] {
  const directives: FaultDirective[] = [];
  for (const raw of value.split(',')) {
    const text = raw.trim();
    if (text === '') continue;
    const limit = /@(\d+)$/.exec(text);
    const body = limit ? text.slice(0, limit.index) : text;
    const upToAttempt = limit ? Number(limit[1]) : undefined;
    const eq = body.indexOf('=');
    const name = eq === -1 ? body : body.slice(0, eq);
    const arg = eq === -1 ? undefined : body.slice(eq + 1);
    if (!isFaultName(name)) throw invalid(text, `unknown directive "${name}"`);
    if (NEEDS_ARG[name] && (arg === undefined || arg === '')) throw invalid(text, `"${name}" needs "=value"`);
    if (!NEEDS_ARG[name] && arg !== undefined) throw invalid(text, `"${name}" takes no value`);
    if ((name === 'sleep-before' || name === 'sleep-after') && !/^\d+$/.test(arg ?? '')) {
      throw invalid(text, 'the sleep must be a whole number of milliseconds');
    }
    if (upToAttempt !== undefined && upToAttempt < 1) throw invalid(text, '"@N" needs N >= 1');
    directives.push({ name, arg, upToAttempt });
  }
  return directives;
}

/** The plan for one attempt: directives whose `@N` covers it. Repeated sleeps add up. */
export function planFaults(directives: readonly FaultDirective[], attempt: number): FaultPlan {
  const plan: FaultPlan = { errorWhileFiles: [], error: false, fail: false, sleepBeforeMs: 0, sleepAfterMs: 0 };
  for (const directive of directives) {
    if (directive.upToAttempt !== undefined && attempt > directive.upToAttempt) continue;
    switch (directive.name) {
      case 'error-while-file':
        plan.errorWhileFiles.push(directive.arg ?? '');
        break;
      case 'error':
        plan.error = true;
        break;
      case 'fail':
        plan.fail = true;
        break;
      case 'sleep-before':
        plan.sleepBeforeMs += Number(directive.arg);
        break;
      case 'sleep-after':
        plan.sleepAfterMs += Number(directive.arg);
        break;
    }
  }
  return plan;
}

/**
 * Wraps a barrier-guarded handler with the fault switches, applied in the
 * protocol's order: error-while-file, error (transient: the server answers
 * UNAVAILABLE, nothing is recorded), fail (a business failure recorded by the
 * barrier, no effect), sleep-before (ignores cancellation, then the normal
 * effect), sleep-after (after the effect committed, before answering).
 */
export function withFaults<Tx>(op: FaultOperation, barrier: TccBarrier<Tx>, handler: StepHandler): StepHandler {
  return async (ctx: StepContext) => {
    const value = ctx.metadata[faultKey(op)];
    if (value === undefined || value.trim() === '') return handler(ctx);
    const plan = planFaults(parseFaults(value), ctx.attempt);
    for (const path of plan.errorWhileFiles) {
      if (existsSync(path)) throw new Error(`injected fault: error while ${path} exists`);
    }
    if (plan.error) throw new Error('injected fault: error');
    if (plan.fail) {
      ctx.logger.info({ fault: 'fail' }, 'injected business failure');
      return barrier[op](ctx, () => Promise.reject(new TerminalError(INJECTED_FAILURE, `injected fault: fail (${op})`)));
    }
    if (plan.sleepBeforeMs > 0) {
      ctx.logger.info({ fault: 'sleep-before', ms: plan.sleepBeforeMs }, 'injected delay before the effect');
      // Deliberately not tied to ctx.signal: the request must arrive late.
      await sleep(plan.sleepBeforeMs);
    }
    const output = await handler(ctx);
    if (plan.sleepAfterMs > 0) {
      ctx.logger.info({ fault: 'sleep-after', ms: plan.sleepAfterMs }, 'injected delay after the effect');
      await sleep(plan.sleepAfterMs);
    }
    return output;
  };
}

function invalid(directive: string, why: string): TerminalError {
  return new TerminalError('INVALID_FAULT_DIRECTIVE', `fault directive "${directive}": ${why}`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
