// ListSagas page tokens as clients see them: the store's cursor, versioned and
// integrity-checked, then base64url. A token that was not handed out by
// ListSagas (forged, edited, cut) is refused with INVALID_ARGUMENT instead of
// being read as some cursor. The check is a digest, not a secret: a cursor
// only positions a listing the caller may see anyway.

import { createHash } from 'node:crypto';
import { invalidArgument } from '../domain/errors.js';
import { checkMaxLength, FIELD_LIMITS } from '../domain/field-limits.js';

const VERSION = 1;
const TAG_BYTES = 12;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

function tag(cursor: Buffer): Buffer {
  return createHash('sha256').update('saga.v1.ListSagas page token\0').update(cursor).digest().subarray(0, TAG_BYTES);
}

/** '' (no more pages) stays ''. */
export function encodePageToken(cursor: string): string {
  if (cursor === '') return '';
  const body = Buffer.from(cursor, 'utf8');
  return Buffer.concat([Buffer.of(VERSION), tag(body), body]).toString('base64url');
}

/** The store's cursor, or '' for the first page. */
export function decodePageToken(token: string): string {
  if (token === '') return '';
  checkMaxLength('page_token', token, FIELD_LIMITS.pageToken);
  const refused = invalidArgument('page_token', 'is not a token from ListSagas (pass next_page_token unchanged)');
  if (!BASE64URL.test(token)) throw refused;
  const raw = Buffer.from(token, 'base64url');
  if (raw.length <= 1 + TAG_BYTES || raw[0] !== VERSION || raw.toString('base64url') !== token) throw refused;
  const body = raw.subarray(1 + TAG_BYTES);
  if (!tag(body).equals(raw.subarray(1, 1 + TAG_BYTES))) throw refused;
  return body.toString('utf8');
}
