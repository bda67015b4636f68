// How the message service asks a producer whether the local transaction
// behind a prepared message committed. Injected, so tests can script answers.

import type { CheckAnswer } from './message-types.js';

export interface CheckCall {
  /** The registered participant named by the message. */
  readonly producer: string;
  readonly messageId: string;
  readonly key: string;
  readonly subject: string;
  readonly headers: Readonly<Record<string, string>>;
  /** 1-based number of this check-back. */
  readonly check: number;
  /** Epoch ms; the call is abandoned (and answered as an error) after it. */
  readonly deadline: number;
}

export interface CheckInvoker {
  /** Never rejects: a failed or timed-out call is `{ kind: 'error' }`. */
  check(call: CheckCall, signal: AbortSignal): Promise<CheckAnswer>;
  close(): Promise<void>;
}
