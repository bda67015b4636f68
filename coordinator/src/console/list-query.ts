// Parses the console API's query strings into filters; every problem is a
// FieldError naming the query parameter.

import type { ListSagasFilter, SagaState } from '../domain/saga-types.js';
import { UNFILTERED, type MessageListQuery } from '../messages/message-list.js';
import type { MessageState } from '../messages/message-types.js';
import { FieldError } from './http-status-map.js';

export const SAGA_STATES: readonly SagaState[] = ['RUNNING', 'COMPENSATING', 'COMPLETED', 'COMPENSATED', 'MANUAL', 'RESOLVED'];
export const MESSAGE_STATES: readonly MessageState[] = ['PREPARED', 'COMMITTED', 'ROLLED_BACK', 'DISCARDED'];
export const MAX_PAGE_SIZE = 200;
const DEFAULT_PAGE_SIZE = 50;
const KNOWN_SAGA_PARAMS = new Set(['state', 'name', 'from', 'to', 'id', 'pageSize', 'pageToken']);

export interface SagaListQuery {
  readonly filter: ListSagasFilter;
  /** Exact saga id searched for ('' = none). */
  readonly id: string;
}

export function parseSagaListQuery(q: URLSearchParams): SagaListQuery {
  rejectUnknown(q, KNOWN_SAGA_PARAMS);
  const states = listParam(q, 'state').map((s) => oneOf('state', s, SAGA_STATES));
  const createdAfter = timeParam(q, 'from');
  const createdBefore = timeParam(q, 'to');
  if (createdAfter !== undefined && createdBefore !== undefined && createdBefore <= createdAfter) {
    throw new FieldError('to', 'must be after from');
  }
  const name = q.get('name') ?? '';
  if (name.length > 256) throw new FieldError('name', 'is longer than 256 characters');
  const id = (q.get('id') ?? '').trim();
  if (id.length > 256) throw new FieldError('id', 'is longer than 256 characters');
  return {
    filter: { states, name, createdAfter, createdBefore, pageSize: pageSize(q), pageToken: pageToken(q) },
    id,
  };
}

export function parseMessageListQuery(q: URLSearchParams): MessageListQuery {
  rejectUnknown(q, new Set(['state', 'pageSize', 'pageToken']));
  return { ...UNFILTERED, states: listParam(q, 'state').map((s) => oneOf('state', s, MESSAGE_STATES)), pageSize: pageSize(q), pageToken: pageToken(q) };
}

export function parsePageQuery(q: URLSearchParams): { pageSize: number; pageToken: string } {
  rejectUnknown(q, new Set(['pageSize', 'pageToken']));
  return { pageSize: pageSize(q), pageToken: pageToken(q) };
}

export function pageSize(q: URLSearchParams): number {
  const raw = q.get('pageSize');
  if (raw === null || raw === '') return DEFAULT_PAGE_SIZE;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n) || n < 1 || n > MAX_PAGE_SIZE) {
    throw new FieldError('pageSize', `must be an integer from 1 to ${MAX_PAGE_SIZE}, not "${raw}"`);
  }
  return n;
}

function pageToken(q: URLSearchParams): string {
  const t = q.get('pageToken') ?? '';
  if (t.length > 64) throw new FieldError('pageToken', 'is not a token from this API');
  return t;
}

/** Repeated (?state=A&state=B) or comma-separated (?state=A,B) values. */
function listParam(q: URLSearchParams, name: string): string[] {
  return q
    .getAll(name)
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

function oneOf<T extends string>(field: string, value: string, allowed: readonly T[]): T {
  const found = allowed.find((a) => a === value.toUpperCase());
  if (found === undefined) throw new FieldError(field, `"${value}" is not one of ${allowed.join(', ')}`);
  return found;
}

/** Epoch milliseconds or an ISO-8601 date-time. */
function timeParam(q: URLSearchParams, name: string): number | undefined {
  const raw = q.get(name);
  if (raw === null || raw === '') return undefined;
  const ms = /^\d+$/.test(raw) ? Number(raw) : Date.parse(raw);
  if (!Number.isFinite(ms)) throw new FieldError(name, `"${raw}" is not a time (ISO 8601 or epoch milliseconds)`);
  return ms;
}

function rejectUnknown(q: URLSearchParams, known: ReadonlySet<string>): void {
  for (const key of q.keys()) if (!known.has(key)) throw new FieldError(key, `is not a parameter here (known: ${[...known].join(', ')})`);
}
