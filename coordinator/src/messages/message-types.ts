// Domain types of transactional ("half") messages. The gRPC edge converts the
// generated saga.v1 types to and from these; the rest of the module sees only
// these.

export type MessageState = 'PREPARED' | 'COMMITTED' | 'ROLLED_BACK' | 'DISCARDED';

/** When and how often an undecided message is checked back (all fields resolved, no zeros). */
export interface CheckPolicy {
  readonly checkAfterMs: number;
  readonly checkIntervalMs: number;
  readonly maxChecks: number;
  readonly checkTimeoutMs: number;
}

/** A PrepareMessage request as received (check-policy zeros = defaults). */
export interface PrepareInput {
  readonly messageId: string;
  readonly subject: string;
  readonly key: string;
  readonly payload: Buffer;
  readonly headers: Readonly<Record<string, string>>;
  readonly producer: string;
  readonly checkPolicy: CheckPolicy;
  /** Epoch ms; undefined = deliver at once. */
  readonly deliverAt: number | undefined;
}

/** A validated PrepareMessage with every default applied. */
export interface ValidatedPrepare {
  /** '' = the coordinator picks one. */
  readonly messageId: string;
  readonly subject: string;
  readonly key: string;
  readonly payload: Buffer;
  readonly headers: Readonly<Record<string, string>>;
  readonly producer: string;
  readonly policy: CheckPolicy;
  readonly deliverAt: number | undefined;
  /** Hash of the message's content (subject, key, payload, headers, producer, deliver_at): same id + same hash = same message. */
  readonly contentHash: string;
}

/**
 * The state of one message, without its payload (which stays in the store:
 * decisions never need it). `version` grows by one per durable change.
 */
export interface MessageRecord {
  readonly id: string;
  readonly subject: string;
  readonly key: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly producer: string;
  readonly policy: CheckPolicy;
  readonly contentHash: string;
  readonly state: MessageState;
  /** Check-backs answered (or failed) so far. */
  readonly checks: number;
  readonly createdAt: number;
  readonly decidedAt: number | undefined;
  readonly deliverAt: number | undefined;
  /** While PREPARED: when the next check-back is due. */
  readonly nextCheckAt: number | undefined;
  /** When its outbox row was written (COMMITTED and due); undefined = not yet handed to the outbox. */
  readonly enqueuedAt: number | undefined;
  /** When JetStream acknowledged the publication, once known. */
  readonly publishedAt: number | undefined;
  readonly reason: string;
  readonly version: number;
}

/** A message as GetMessage shows it. */
export interface MessageView extends MessageRecord {
  readonly payload: Buffer;
}

/** The producer's answer to a check-back; a failed call counts as UNKNOWN. */
export type CheckAnswer =
  | { readonly kind: 'COMMIT' }
  | { readonly kind: 'ROLLBACK' }
  | { readonly kind: 'UNKNOWN' }
  | { readonly kind: 'error'; readonly code: string; readonly message: string };
