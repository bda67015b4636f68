import type { PayloadInput } from './payload.js';

/** Lifecycle of a transactional message at the coordinator. */
export type TxMessageState = 'PREPARED' | 'COMMITTED' | 'ROLLED_BACK' | 'DISCARDED';

/** When and how often the coordinator checks back an undecided message. Omitted fields: the coordinator's defaults (6 s, 30 s, 15, 5 s). */
export interface CheckPolicyOptions {
  /** First check-back this many ms after PrepareMessage. */
  checkAfterMs?: number;
  /** Interval between check-backs in ms. */
  checkIntervalMs?: number;
  /** Check-backs answered UNKNOWN (or failing) before the message is discarded and an alert raised. */
  maxChecks?: number;
  /** Deadline of each CheckTransaction call in ms. */
  checkTimeoutMs?: number;
}

/** A message to prepare. */
export interface TxMessage {
  /** NATS subject it is published to once committed (no wildcards). */
  subject: string;
  /** Business key passed to the check-back (e.g. the order id). Default ''. */
  key?: string;
  /** Uint8Array as is, string as UTF-8, anything else as JSON. Default empty. */
  payload?: PayloadInput;
  /** Published as NATS headers (names starting with "Nats-" are reserved). */
  headers?: Readonly<Record<string, string>>;
  /** Client-chosen id and idempotency key (same id + same content = same message). Default: a random UUID. */
  messageId?: string;
  checkPolicy?: CheckPolicyOptions;
  /** Not delivered before this instant (delayed delivery). Default: at once. */
  deliverAt?: Date;
}

/** A transactional message as the coordinator keeps it (GetMessage). */
export interface TxMessageRecord {
  messageId: string;
  subject: string;
  key: string;
  payload: Buffer;
  headers: Readonly<Record<string, string>>;
  /** The registered participant that answers CheckTransaction. */
  producer: string;
  checkPolicy: Required<CheckPolicyOptions>;
  state: TxMessageState;
  /** Check-backs made so far. */
  checks: number;
  createdAt: Date;
  decidedAt: Date | undefined;
  deliverAt: Date | undefined;
  /** When JetStream acknowledged the publication, once known. */
  publishedAt: Date | undefined;
  /** While PREPARED: the next check-back. */
  nextCheckAt: Date | undefined;
  /** Why it was rolled back or discarded (or the last undecided check-back). */
  reason: string;
}

/** Which messages {@link TxMessageClient.list} returns; unset fields do not filter. */
export interface TxMessageListFilter {
  /** Only messages in one of these states; empty or unset = all. */
  states?: readonly TxMessageState[];
  /** Only messages to exactly this subject. */
  subject?: string;
  /** Only messages with exactly this business key. */
  key?: string;
  /** Only this producer's messages (a producer credential sees only its own anyway). */
  producer?: string;
  /** Only messages created at or after this instant. */
  createdAfter?: Date;
  /** Only messages created before this instant. */
  createdBefore?: Date;
  /** 1..1000; unset = the coordinator's default (100). */
  pageSize?: number;
  /** From a previous page's `nextPageToken` (with the same filter). */
  pageToken?: string;
}

/** A transactional message as ListMessages shows it: no payload or headers, and of its check policy only `maxChecks`. */
export type TxMessageSummary = Omit<TxMessageRecord, 'payload' | 'headers' | 'checkPolicy'> & {
  /** The most check-backs its check policy allows. */
  maxChecks: number;
};

/** One page of {@link TxMessageClient.list}, newest first. */
export interface TxMessagePage {
  messages: TxMessageSummary[];
  /** '' when there are no more pages. */
  nextPageToken: string;
}

/** Per-call options of the transactional-message calls. */
export interface TxMessageCallOptions {
  /** Deadline of this call in ms; default: the client's. */
  deadlineMs?: number;
  /** Cancels the call; it then rejects with the signal's reason. */
  signal?: AbortSignal;
}
