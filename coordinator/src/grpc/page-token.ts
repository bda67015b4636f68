// Page tokens as clients see them (ListSagas, ListMessages): the store's
// cursor, versioned and integrity-checked, then base64url. A token that was
// not handed out by the same RPC (forged, edited, cut, or another listing's)
// is refused with INVALID_ARGUMENT instead of being read as some cursor. The
// check is a digest, not a secret: a cursor only positions a listing the
// caller may see anyway.

import { createHash } from 'node:crypto';
import { invalidArgument } from '../domain/errors.js';
import { checkMaxLength, FIELD_LIMITS } from '../domain/field-limits.js';

const VERSION = 1;
const TAG_BYTES = 12;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

export interface PageTokenCodec {
  /** '' (no more pages) stays ''. */
  encode(cursor: string): string;
  /** The store's cursor, or '' for the first page. */
  decode(token: string): string;
}

/** Tokens of one listing RPC: each RPC's digest differs, so one RPC's token is refused by another. */
export function pageTokenCodec(rpc: 'ListSagas' | 'ListMessages', maxLength: number): PageTokenCodec {
  const tag = (cursor: Buffer): Buffer =>
    createHash('sha256').update(`saga.v1.${rpc} page token\0`).update(cursor).digest().subarray(0, TAG_BYTES);
  return {
    encode: (cursor) => {
      if (cursor === '') return '';
      const body = Buffer.from(cursor, 'utf8');
      return Buffer.concat([Buffer.of(VERSION), tag(body), body]).toString('base64url');
    },
    decode: (token) => {
      if (token === '') return '';
      checkMaxLength('page_token', token, maxLength);
      const refused = invalidArgument('page_token', `is not a token from ${rpc} (pass next_page_token unchanged)`);
      if (!BASE64URL.test(token)) throw refused;
      const raw = Buffer.from(token, 'base64url');
      if (raw.length <= 1 + TAG_BYTES || raw[0] !== VERSION || raw.toString('base64url') !== token) throw refused;
      const body = raw.subarray(1 + TAG_BYTES);
      if (!tag(body).equals(raw.subarray(1, 1 + TAG_BYTES))) throw refused;
      return body.toString('utf8');
    },
  };
}

const listSagasTokens = pageTokenCodec('ListSagas', FIELD_LIMITS.pageToken);

/** ListSagas: '' (no more pages) stays ''. */
export function encodePageToken(cursor: string): string {
  return listSagasTokens.encode(cursor);
}

/** ListSagas: the store's cursor, or '' for the first page. */
export function decodePageToken(token: string): string {
  return listSagasTokens.decode(token);
}
