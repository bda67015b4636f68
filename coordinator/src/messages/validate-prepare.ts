// Validates a PrepareMessage request and applies the default check policy.
// Every error is INVALID_ARGUMENT and starts with the field's name.

import { createHash } from 'node:crypto';
import { invalidArgument } from '../domain/errors.js';
import { checkMaxLength, FIELD_LIMITS, quote } from '../domain/field-limits.js';
import { ID_PATTERN, NAME_PATTERN } from '../domain/validate-start-saga.js';
import type { MessageSettings } from './message-settings.js';
import type { CheckPolicy, PrepareInput, ValidatedPrepare } from './message-types.js';
import { subjectMatches } from './subject-pattern.js';

export interface PrepareContext {
  readonly now: number;
  /** Whether `name` is a participant registered with this coordinator. */
  readonly isRegistered: (name: string) => boolean;
  /** The coordinator's own event subjects start with this; producers may not publish there. */
  readonly reservedSubjectPrefix: string;
  /** Subject patterns a message may use (captured by a stream); empty = none is. */
  readonly allowedSubjects: readonly string[];
}

// Printable ASCII without the wildcards; "." separates tokens.
const SUBJECT_TOKEN = /^[\x21-\x7e]+$/;
// An HTTP header token (RFC 9110), which NATS headers follow.
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

export function validatePrepare(input: PrepareInput, settings: MessageSettings, ctx: PrepareContext): ValidatedPrepare {
  const limits = settings.limits;
  if (input.messageId !== '' && !ID_PATTERN.test(input.messageId)) {
    throw invalidArgument('message_id', `must match ${ID_PATTERN.source} (at most 128 characters), or be empty for a generated id`);
  }
  checkSubject(input.subject, ctx.reservedSubjectPrefix);
  if (!ctx.allowedSubjects.some((p) => subjectMatches(p, input.subject))) {
    throw invalidArgument(
      'subject',
      `${quote(input.subject)} is not a transactional-message subject of this coordinator (allowed: ${
        ctx.allowedSubjects.join(', ') || 'none; the operator sets messages.subjects or nats.stream.subjects'
      })`,
    );
  }
  if (Buffer.byteLength(input.key, 'utf8') > limits.maxKeyBytes) {
    throw invalidArgument('key', `is longer than ${limits.maxKeyBytes} bytes`);
  }
  if (input.payload.length > limits.maxPayloadBytes) {
    throw invalidArgument('payload', `${input.payload.length} bytes exceed the limit of ${limits.maxPayloadBytes}`);
  }
  checkHeaders(input.headers, settings);
  if (input.producer === '') throw invalidArgument('producer', 'is required: the registered participant that answers CheckTransaction');
  checkMaxLength('producer', input.producer, FIELD_LIMITS.name);
  if (!NAME_PATTERN.test(input.producer) || !ctx.isRegistered(input.producer)) {
    throw invalidArgument('producer', `${quote(input.producer)} is not a participant registered with this coordinator`);
  }
  const policy = resolvePolicy(input.checkPolicy, settings);
  let deliverAt = input.deliverAt;
  if (deliverAt !== undefined) {
    if (!Number.isFinite(deliverAt)) throw invalidArgument('deliver_at', 'is not a valid timestamp');
    if (deliverAt > ctx.now + limits.maxDeliveryDelayMs) {
      throw invalidArgument('deliver_at', `is more than ${limits.maxDeliveryDelayMs} ms in the future`);
    }
    // A time already past means "at once"; keep it (it is part of the request's identity).
    deliverAt = Math.trunc(deliverAt);
  }
  return {
    messageId: input.messageId,
    subject: input.subject,
    key: input.key,
    payload: input.payload,
    headers: { ...input.headers },
    producer: input.producer,
    policy,
    deliverAt,
    contentHash: contentHash(input),
  };
}

function checkSubject(subject: string, reservedPrefix: string): void {
  if (subject === '') throw invalidArgument('subject', 'is required');
  checkMaxLength('subject', subject, FIELD_LIMITS.subject);
  const tokens = subject.split('.');
  for (const token of tokens) {
    if (token === '') throw invalidArgument('subject', `${quote(subject)} has an empty token`);
    if (!SUBJECT_TOKEN.test(token)) throw invalidArgument('subject', `${quote(subject)} may contain only printable ASCII without spaces`);
    if (token.includes('*') || token.includes('>')) throw invalidArgument('subject', `${quote(subject)} must not contain the wildcards "*" or ">"`);
  }
  const first = tokens[0] ?? '';
  // $JS.API…, $SYS… are server APIs; _INBOX.… carries replies: publishing there is never a business message.
  if (first.startsWith('$') || first === '_INBOX') {
    throw invalidArgument('subject', `${quote(subject)} is a NATS system or reply subject`);
  }
  if (subject === reservedPrefix || subject.startsWith(`${reservedPrefix}.`)) {
    throw invalidArgument('subject', `subjects under "${reservedPrefix}." are reserved for the coordinator's own events`);
  }
}

function checkHeaders(headers: Readonly<Record<string, string>>, settings: MessageSettings): void {
  const { maxHeaders, maxHeaderBytes } = settings.limits;
  const entries = Object.entries(headers);
  if (entries.length > maxHeaders) throw invalidArgument('headers', `${entries.length} entries exceed the limit of ${maxHeaders}`);
  for (const [name, value] of entries) {
    const field = `headers["${name.slice(0, 64)}"]`;
    if (name.length > maxHeaderBytes) throw invalidArgument(field, `the name is ${name.length} characters long; the limit is ${maxHeaderBytes} bytes`);
    if (!HEADER_NAME.test(name)) throw invalidArgument(field, 'a header name must be a token (letters, digits, !#$%&\'*+.^_`|~-)');
    // Nats-Msg-Id is the coordinator's (the message id); Nats-Expected-* and the rest steer the server.
    if (name.toLowerCase().startsWith('nats-')) throw invalidArgument(field, 'headers starting with "Nats-" are reserved');
    if (Buffer.byteLength(value, 'utf8') > maxHeaderBytes) throw invalidArgument(field, `the value is longer than ${maxHeaderBytes} bytes`);
    if (/[\r\n\0]/.test(value)) throw invalidArgument(field, 'a header value must not contain CR, LF or NUL');
  }
}

function resolvePolicy(requested: CheckPolicy, settings: MessageSettings): CheckPolicy {
  const d = settings.defaultCheckPolicy;
  const l = settings.limits;
  const within = (field: string, v: number, min: number, max: number): number => {
    if (!Number.isInteger(v) || v < 0) throw invalidArgument(field, 'must be a non-negative integer');
    if (v !== 0 && (v < min || v > max)) throw invalidArgument(field, `must be 0 (default) or from ${min} to ${max}`);
    return v;
  };
  const after = within('check_policy.check_after_ms', requested.checkAfterMs, l.minCheckIntervalMs, l.maxCheckIntervalMs);
  const interval = within('check_policy.check_interval_ms', requested.checkIntervalMs, l.minCheckIntervalMs, l.maxCheckIntervalMs);
  const max = within('check_policy.max_checks', requested.maxChecks, 1, l.maxChecks);
  const timeout = within('check_policy.check_timeout_ms', requested.checkTimeoutMs, 1, l.maxCheckTimeoutMs);
  return {
    checkAfterMs: after || d.checkAfterMs,
    checkIntervalMs: interval || d.checkIntervalMs,
    maxChecks: max || d.maxChecks,
    checkTimeoutMs: timeout || d.checkTimeoutMs,
  };
}

/**
 * Identity of a message: what is delivered, where, when, and who answers for
 * it (headers in name order). The check policy is not part of it: a producer
 * retrying after a restart with other settings still means the same message
 * (the first policy stays).
 */
function contentHash(input: PrepareInput): string {
  const h = createHash('sha256');
  const headers = Object.entries(input.headers).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  h.update(
    JSON.stringify([input.subject, input.key, headers, input.producer, input.deliverAt === undefined ? null : Math.trunc(input.deliverAt)]),
  );
  h.update('\0');
  h.update(input.payload);
  return h.digest('base64url');
}
