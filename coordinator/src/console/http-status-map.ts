// The one table between domain errors and the console API's HTTP statuses
// (the gRPC edge has its own in grpc/status-map.ts).

import { DomainError, type DomainErrorKind } from '../domain/errors.js';

const TO_HTTP: Record<DomainErrorKind, number> = {
  INVALID_ARGUMENT: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  FAILED_PRECONDITION: 409,
  RESOURCE_EXHAUSTED: 429,
  UNIMPLEMENTED: 501,
  UNAVAILABLE: 503,
};

/** A request field of the console API is invalid: a 400 whose body names the field. */
export class FieldError extends DomainError {
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super('INVALID_ARGUMENT', `${field}: ${problem}`);
    this.name = 'FieldError';
  }
}

export interface ErrorBody {
  readonly error: { readonly code: DomainErrorKind | 'INTERNAL'; readonly message: string; readonly field?: string; readonly retryable: boolean };
}

/** HTTP status and JSON body of anything a handler threw; unknown errors become 500 without details. */
export function httpError(err: unknown): { status: number; body: ErrorBody } {
  if (err instanceof DomainError) {
    const field = err instanceof FieldError ? err.field : undefined;
    return { status: TO_HTTP[err.kind], body: { error: { code: err.kind, message: err.message, field, retryable: err.retryable } } };
  }
  return { status: 500, body: { error: { code: 'INTERNAL', message: 'internal error', retryable: true } } };
}
