// Length limits of the request fields that are not sized by configuration,
// and the one way an error message quotes a client's value. Lengths are
// checked before any lookup, and a message never echoes a long value: a 2 MB
// id once made error trailers outgrow the HTTP/2 header limit and hang the call.

import { invalidArgument } from './errors.js';

export const FIELD_LIMITS = {
  /** saga_id, message_id (also their pattern, ID_PATTERN). */
  id: 128,
  /** Saga, step, action, participant and producer names (NAME_PATTERN). */
  name: 128,
  /** PrepareMessage.subject, ListMessages.subject. */
  subject: 256,
  /** A participant field may hold an allowlisted raw host:port instead of a name. */
  participant: 261,
  /** AbortSaga.reason, ResolveSaga.note, RollbackMessage.reason, in characters. */
  reason: 1024,
  /** ListSagas.page_token, as ListSagas hands it out. */
  pageToken: 256,
  /** ListMessages.page_token, as ListMessages hands it out (a PostgreSQL cursor holds a message id). */
  messagePageToken: 512,
} as const;

export const NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_-]{0,127}$/;
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;

/** How many characters of a client's value an error message quotes at most. */
export const MAX_QUOTED_CHARACTERS = 100;

/** A client's value for an error message: quoted, cut to 100 characters, with its length when cut. */
export function quote(value: string): string {
  if (value.length <= MAX_QUOTED_CHARACTERS) return JSON.stringify(value);
  return `${JSON.stringify(value.slice(0, MAX_QUOTED_CHARACTERS))}… (${value.length} characters)`;
}

/** INVALID_ARGUMENT naming the field when `value` is longer than `max` characters. */
export function checkMaxLength(field: string, value: string, max: number): void {
  if (value.length > max) throw invalidArgument(field, `is ${value.length} characters long; the limit is ${max}`);
}

/** A saga or message id a request looks up: required, and only ever one that could exist. */
export function checkLookupId(field: string, value: string): void {
  if (value === '') throw invalidArgument(field, 'is required');
  checkMaxLength(field, value, FIELD_LIMITS.id);
  if (!ID_PATTERN.test(value)) throw invalidArgument(field, `${quote(value)} is not an id (${ID_PATTERN.source})`);
}
