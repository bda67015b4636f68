import { status, type Metadata } from '@grpc/grpc-js';

/** Names of the gRPC status codes, e.g. 'NOT_FOUND'. */
export type GrpcStatusName = keyof typeof status;

/**
 * A coordinator call that ended with a gRPC error. Decide on `code` /
 * `codeName` (e.g. NOT_FOUND, FAILED_PRECONDITION, ALREADY_EXISTS,
 * UNAVAILABLE = retry later), never on the message text.
 */
export class SagaClientError extends Error {
  /** Numeric gRPC status code. */
  readonly code: number;
  /** Name of the status code, e.g. 'NOT_FOUND' ('UNKNOWN' for an unknown number). */
  readonly codeName: GrpcStatusName;
  /** The status details sent by the coordinator. */
  readonly details: string;
  /** The RPC, e.g. 'StartSaga'. */
  readonly method: string;
  /** Trailing metadata of the error (string values). */
  readonly metadata: Readonly<Record<string, string>>;

  constructor(method: string, code: number, details: string, metadata: Readonly<Record<string, string>> = {}, options?: { cause?: unknown }) {
    const codeName = statusName(code);
    super(`${method} failed: ${codeName}${details ? `: ${details}` : ''}`, options);
    this.name = 'SagaClientError';
    this.method = method;
    this.code = code;
    this.codeName = codeName;
    this.details = details;
    this.metadata = metadata;
  }
}

function statusName(code: number): GrpcStatusName {
  const name = (status as unknown as Record<number, string | undefined>)[code];
  return name !== undefined && name in status ? (name as GrpcStatusName) : 'UNKNOWN';
}

/** Converts whatever a grpc-js call rejected with into a SagaClientError. */
export function toSagaClientError(method: string, err: unknown): SagaClientError {
  if (err instanceof SagaClientError) return err;
  const candidate = err as { code?: unknown; details?: unknown; metadata?: Metadata } | null;
  if (candidate !== null && typeof candidate === 'object' && typeof candidate.code === 'number') {
    const metadata: Record<string, string> = {};
    for (const [key, value] of Object.entries(candidate.metadata?.getMap() ?? {})) {
      if (typeof value === 'string') metadata[key] = value;
    }
    const details = typeof candidate.details === 'string' ? candidate.details : '';
    return new SagaClientError(method, candidate.code, details, metadata, { cause: err });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new SagaClientError(method, status.UNKNOWN, message, {}, { cause: err });
}
