// The CLI's failure kinds and their exit codes: 2 = the command line or its
// input file is wrong (nothing was sent), 1 = a call failed or answered "not ok".

import { SagaClientError } from '@saga/sdk';

export const EXIT_OK = 0;
export const EXIT_CALL_FAILED = 1;
export const EXIT_USAGE = 2;

/** Bad flags, arguments or input file: exit 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** A call that answered, but not what the command needs (e.g. health NOT_SERVING): exit 1. */
export class CheckFailedError extends Error {
  override readonly name = 'CheckFailedError';
}

export interface FailureReport {
  readonly exitCode: number;
  /** One line for stderr. */
  readonly message: string;
  /** For --json: a machine-readable error object. */
  readonly json: Record<string, unknown>;
}

/**
 * Describes a failure. gRPC errors name the RPC and the status code; the
 * coordinator's INVALID_ARGUMENT details start with the field's path, which is
 * kept as it is.
 */
export function describeFailure(err: unknown): FailureReport {
  if (err instanceof SagaClientError) {
    return {
      exitCode: EXIT_CALL_FAILED,
      message: `${err.method} failed: ${err.codeName}${err.details ? `: ${err.details}` : ''}`,
      json: { error: { method: err.method, code: err.codeName, details: err.details } },
    };
  }
  if (err instanceof UsageError) {
    return { exitCode: EXIT_USAGE, message: err.message, json: { error: { code: 'USAGE', details: err.message } } };
  }
  if (err instanceof CheckFailedError) {
    return { exitCode: EXIT_CALL_FAILED, message: err.message, json: { error: { code: 'CHECK_FAILED', details: err.message } } };
  }
  // The SDK's own checks of a definition throw TypeError naming the field (nothing was sent).
  if (err instanceof TypeError) {
    return { exitCode: EXIT_USAGE, message: err.message, json: { error: { code: 'USAGE', details: err.message } } };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { exitCode: EXIT_CALL_FAILED, message, json: { error: { code: 'UNKNOWN', details: message } } };
}
