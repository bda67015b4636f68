// Operator actions on the outbox's dead letters: list them, put one back to be
// published again, or drop it. Replaying or dropping frees the events of its
// ordering key, which may lie before the relay's cursor: the relay rewinds.

import type { Logger } from 'pino';
import { invalidArgument, notFound } from '../domain/errors.js';
import type { DeadLetterRow, Store } from '../store/store.js';

export interface DeadLettersOptions {
  readonly store: Store;
  readonly logger: Logger;
  /** The relay, when NATS is configured: told to read from the first unsent row again. */
  readonly rewind?: () => void;
}

export interface DeadLetterPage {
  readonly deadLetters: DeadLetterRow[];
  readonly nextPageToken: string;
}

const MAX_PAGE = 1000;
const DEFAULT_PAGE = 100;

export class DeadLetters {
  constructor(private readonly options: DeadLettersOptions) {}

  async list(pageSize: number, pageToken: string): Promise<DeadLetterPage> {
    if (!Number.isInteger(pageSize) || pageSize < 0 || pageSize > MAX_PAGE) throw invalidArgument('page_size', `must be 0..${MAX_PAGE}`);
    const size = pageSize === 0 ? DEFAULT_PAGE : pageSize;
    let after = 0;
    if (pageToken !== '') {
      after = /^[0-9a-z]{1,11}$/.test(pageToken) ? Number.parseInt(pageToken, 36) : Number.NaN;
      if (!Number.isSafeInteger(after) || after <= 0) throw invalidArgument('page_token', 'not a token from ListDeadLetters');
    }
    const rows = await this.options.store.listDeadLetters(after, size + 1);
    const more = rows.length > size;
    const page = more ? rows.slice(0, size) : rows;
    const last = page.at(-1);
    return { deadLetters: page, nextPageToken: more && last !== undefined ? last.seq.toString(36) : '' };
  }

  async replay(eventId: string): Promise<void> {
    requireId(eventId);
    if (!(await this.options.store.replayDeadLetter(eventId))) throw notFound(`dead letter "${eventId}" not found`);
    this.options.logger.warn({ eventId }, 'dead letter put back into the outbox by an operator');
    this.options.rewind?.();
  }

  async drop(eventId: string): Promise<void> {
    requireId(eventId);
    if (!(await this.options.store.dropDeadLetter(eventId))) throw notFound(`dead letter "${eventId}" not found`);
    this.options.logger.warn({ eventId }, 'dead letter dropped by an operator; the events behind it go on');
    this.options.rewind?.();
  }
}

function requireId(eventId: string): void {
  if (eventId === '') throw invalidArgument('event_id', 'is required');
}
