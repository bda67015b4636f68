/**
 * A business failure: retrying will not help (e.g. not enough stock).
 *
 * Thrown from a step handler it becomes a StepResult with outcome
 * STEP_OUTCOME_FAILED, `error_code` = `code` and `error_message` = `message`:
 * for Execute the saga compensates, for Compensate it goes to MANUAL.
 *
 * Any other error thrown by a handler is transient: the participant answers
 * with a gRPC error and the coordinator retries within the step's policy.
 */
export class TerminalError extends Error {
  /** Machine-readable business error code, e.g. "INSUFFICIENT_POINTS". */
  readonly code: string;

  constructor(code: string, message?: string, options?: { cause?: unknown }) {
    super(message ?? code, options);
    if (code.trim() === '') throw new TypeError('TerminalError: code must not be empty');
    this.name = 'TerminalError';
    this.code = code;
  }
}

/** True for a TerminalError, also across copies of the SDK (checked by name and shape). */
export function isTerminalError(err: unknown): err is TerminalError {
  if (err instanceof TerminalError) return true;
  return (
    err instanceof Error &&
    err.name === 'TerminalError' &&
    typeof (err as { code?: unknown }).code === 'string'
  );
}
