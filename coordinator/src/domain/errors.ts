// Domain errors. Each kind maps to exactly one gRPC status code in
// grpc/status-map.ts; nothing decides an outcome by reading message text.

export type DomainErrorKind =
  | 'INVALID_ARGUMENT'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'FAILED_PRECONDITION'
  | 'RESOURCE_EXHAUSTED'
  | 'UNAUTHENTICATED'
  | 'PERMISSION_DENIED'
  | 'UNAVAILABLE'
  | 'UNIMPLEMENTED';

export class DomainError extends Error {
  constructor(
    readonly kind: DomainErrorKind,
    message: string,
    /** Whether the same request may succeed if sent again later. */
    readonly retryable: boolean = kind === 'UNAVAILABLE',
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

/** A request field is invalid. The message starts with the field's path. */
export function invalidArgument(field: string, problem: string): DomainError {
  return new DomainError('INVALID_ARGUMENT', `${field}: ${problem}`);
}

export function notFound(what: string): DomainError {
  return new DomainError('NOT_FOUND', what);
}

export function alreadyExists(what: string): DomainError {
  return new DomainError('ALREADY_EXISTS', what);
}

export function failedPrecondition(what: string): DomainError {
  return new DomainError('FAILED_PRECONDITION', what);
}

/** A limit or overload refused the request; nothing was done, so it may be sent again later. */
export function resourceExhausted(what: string): DomainError {
  return new DomainError('RESOURCE_EXHAUSTED', what, true);
}

export function unavailable(what: string): DomainError {
  return new DomainError('UNAVAILABLE', what);
}
