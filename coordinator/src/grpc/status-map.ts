// The one table between domain errors and gRPC status codes.

import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { DomainError, type DomainErrorKind } from '../domain/errors.js';

const TO_STATUS: Record<DomainErrorKind, status> = {
  INVALID_ARGUMENT: status.INVALID_ARGUMENT,
  NOT_FOUND: status.NOT_FOUND,
  ALREADY_EXISTS: status.ALREADY_EXISTS,
  FAILED_PRECONDITION: status.FAILED_PRECONDITION,
  RESOURCE_EXHAUSTED: status.RESOURCE_EXHAUSTED,
  UNAUTHENTICATED: status.UNAUTHENTICATED,
  PERMISSION_DENIED: status.PERMISSION_DENIED,
  UNAVAILABLE: status.UNAVAILABLE,
  UNIMPLEMENTED: status.UNIMPLEMENTED,
};

// Details travel in a trailer; kept far below HTTP/2 header limits whatever a message quotes.
const MAX_DETAILS_CHARACTERS = 2048;

/** Converts anything thrown by a handler into a gRPC error; unknown errors become INTERNAL without details. */
export function toServiceError(err: unknown): Partial<ServiceError> {
  if (err instanceof DomainError) {
    const details = err.message.length <= MAX_DETAILS_CHARACTERS ? err.message : `${err.message.slice(0, MAX_DETAILS_CHARACTERS)}…`;
    return { code: TO_STATUS[err.kind], details, metadata: new Metadata() };
  }
  return { code: status.INTERNAL, details: 'internal error', metadata: new Metadata() };
}

/** True when the error was not a domain error (worth logging as a bug or outage). */
export function isUnexpected(err: unknown): boolean {
  return !(err instanceof DomainError);
}

/** Name of a gRPC status code, e.g. "DEADLINE_EXCEEDED". */
export function statusName(code: number): string {
  return status[code] ?? `CODE_${code}`;
}
