// The coordinator's own events always fit what NATS carries: a participant's
// long error message or failure reason is cut and marked, never the cause of
// a lost event; StartSaga refuses metadata that leaves no room for the texts.

import { SagaEvent, StepEvent } from '@saga/proto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DispatchEvent, FinishEvent, ResultEvent } from '../domain/journal-event.js';
import { start, step } from '../engine/engine-test-support.js';
import { SagaRuntime } from '../engine/saga-runtime.js';
import type { OutboxInsert } from '../store/store.js';
import { utf8Prefix } from './fit-event.js';
import { natsHeaderBytes } from './nats-header-bytes.js';
import { checkOutcomeEventFits, OUTCOME_TEXT_ROOM_BYTES, outcomeEventFactory } from './outcome-events.js';
import { stepEventFactory } from './step-events.js';

const NOW = Date.UTC(2026, 11, 2);

function sagaWith(metadata: Record<string, string>, texts: { reason?: string; note?: string } = {}): SagaRuntime {
  const { definition, definitionHash } = start([step('reserve'), step('charge')], { sagaId: 'order-1', metadata });
  const saga = new SagaRuntime({ key: 1, id: 'order-1', definition, createdAt: NOW - 1000, deadlineAt: undefined, definitionHash }, false);
  saga.state = 'COMPENSATED';
  saga.failedStep = 'charge';
  saga.reason = texts.reason ?? '';
  saga.note = texts.note ?? '';
  return saga;
}

const finish: FinishEvent = { t: 'finish', at: NOW, state: 'COMPENSATED', reason: '' };

function outcome(saga: SagaRuntime, limit: number): { row: OutboxInsert; event: SagaEvent } {
  const [row] = outcomeEventFactory('saga', () => limit)(saga, finish);
  if (row === undefined) throw new Error('no outbox row');
  return { row, event: SagaEvent.decode(row.payload) };
}

const carried = (row: OutboxInsert): number => row.payload.length + natsHeaderBytes(row.headers);
const marker = (text: string): string => `… [truncated from ${Buffer.byteLength(text)} bytes]`;
// Decoded protobuf maps are plain objects: "__proto__" would not survive as a key there.
const metadataKey = fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 40 }).filter((k) => k !== '__proto__');
/** A string as UTF-8 carries it (lone surrogates become U+FFFD). */
const utf8 = (s: string): string => Buffer.from(s).toString();

describe('outcome events within max_payload', () => {
  it('writes an event that fits as it is', () => {
    const saga = sagaWith({ tenant: 'acme' }, { reason: 'step charge failed: NOPE: no' });
    const { event } = outcome(saga, 8192);
    expect(event).toMatchObject({ reason: 'step charge failed: NOPE: no', metadata: { tenant: 'acme' }, truncatedFields: [] });
  });

  it("cuts a participant's long failure reason to fit, keeping its start, marked, and names the field", () => {
    const reason = `step charge failed: DECLINED: ${'x'.repeat(20_000)}`;
    const { row, event } = outcome(sagaWith({ tenant: 'acme' }, { reason }), 8192);
    expect(carried(row)).toBeLessThanOrEqual(8192);
    expect(carried(row)).toBeGreaterThan(8192 - 64); // as much of the reason as fits
    expect(event.truncatedFields).toEqual(['reason']);
    expect(event.reason.startsWith('step charge failed: DECLINED: xxx')).toBe(true);
    expect(event.reason.endsWith(marker(reason))).toBe(true);
    expect(event.metadata).toEqual({ tenant: 'acme' });
    expect(event.failedStep).toBe('charge');
  });

  it('gives a short note back whole when cutting the reason made the room', () => {
    const reason = 'r'.repeat(30_000);
    const { event } = outcome(sagaWith({}, { reason, note: 'refunded by hand' }), 4096);
    expect(event.truncatedFields).toEqual(['reason']);
    expect(event.resolutionNote).toBe('refunded by hand');
  });

  it('leaves the metadata out only when max_payload shrank below it', () => {
    const metadata = { big: 'm'.repeat(3000), bigger: 'm'.repeat(3000) };
    const { row, event } = outcome(sagaWith(metadata, { reason: 'step charge failed' }), 4096);
    expect(carried(row)).toBeLessThanOrEqual(4096);
    expect(event.metadata).toEqual({});
    expect(event.truncatedFields).toEqual(['metadata']);
    // With the metadata gone the reason fits whole again.
    expect(event.reason).toBe('step charge failed');
  });

  it('always fits, cutting only whole characters, and keeps every field it does not name', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 4000 }),
        fc.string({ unit: 'binary', maxLength: 1500 }),
        fc.dictionary(metadataKey, fc.string({ unit: 'binary', maxLength: 300 }), { maxKeys: 8 }),
        fc.integer({ min: 1024, max: 12_000 }),
        (rawReason, rawNote, metadata, limit) => {
          const reason = utf8(rawReason);
          const note = utf8(rawNote);
          const { row, event } = outcome(sagaWith(metadata, { reason, note }), limit);
          expect(carried(row)).toBeLessThanOrEqual(limit);
          const originals: Record<string, string> = { reason, resolution_note: note };
          const got: Record<string, string> = { reason: event.reason, resolution_note: event.resolutionNote };
          for (const field of ['reason', 'resolution_note']) {
            const value = got[field] ?? '';
            const original = originals[field] ?? '';
            if (!event.truncatedFields.includes(field)) expect(value).toBe(original);
            else if (value !== '') {
              expect(value.endsWith(marker(original))).toBe(true);
              expect(original.startsWith(value.slice(0, value.length - marker(original).length))).toBe(true);
            }
          }
          if (!event.truncatedFields.includes('metadata')) expect(event.metadata).toEqual(metadata);
        },
      ),
    );
  });
});

describe('step events within max_payload', () => {
  it("cuts a participant's long error message, keeps the error code", () => {
    const saga = sagaWith({});
    const message = 'é'.repeat(10_000); // 2 bytes each: the cut falls between characters
    const result: ResultEvent = { t: 'result', at: NOW, s: 1, op: 'execute', n: 1, o: 'F', code: 'DECLINED', msg: message };
    const [row] = stepEventFactory('saga', () => 8192)(saga, result);
    if (row === undefined) throw new Error('no outbox row');
    const event = StepEvent.decode(row.payload);
    expect(carried(row)).toBeLessThanOrEqual(8192);
    expect(event.truncatedFields).toEqual(['error_message']);
    expect(event.errorCode).toBe('DECLINED');
    expect(event.errorMessage).toMatch(/^é+… \[truncated from 20000 bytes\]$/);
  });

  it('leaves a dispatch event as it is', () => {
    const dispatch: DispatchEvent = { t: 'dispatch', at: NOW, s: 0, op: 'execute', n: 1 };
    const [row] = stepEventFactory('saga', () => 8192)(sagaWith({}), dispatch);
    expect(StepEvent.decode(row?.payload ?? Buffer.alloc(0))).toMatchObject({ stepName: 'reserve', truncatedFields: [] });
  });
});

describe('StartSaga: metadata the outcome events cannot carry', () => {
  it('refuses it with INVALID_ARGUMENT naming metadata and the limit', () => {
    const { definition } = start([step('a')], { metadata: { a: 'v'.repeat(4096), b: 'v'.repeat(4096) } });
    let refusal: unknown;
    try {
      checkOutcomeEventFits('', definition, 8192);
    } catch (err) {
      refusal = err;
    }
    expect(refusal).toMatchObject({
      kind: 'INVALID_ARGUMENT',
      message: expect.stringMatching(/^metadata: makes the saga's outcome events \d+ bytes \(with 2048 bytes kept for the reason\), more than 8192 bytes, the most NATS carries \(max_payload\)$/),
    });
    expect(() => checkOutcomeEventFits('', definition, 64 * 1024)).not.toThrow();
  });

  it('accepts only what then fits with a reason of the kept room, uncut', () => {
    fc.assert(
      fc.property(
        fc.dictionary(metadataKey, fc.string({ unit: 'binary', maxLength: 2000 }), { minKeys: 1, maxKeys: 6 }),
        fc.integer({ min: 2048, max: 16_000 }),
        fc.boolean(),
        (metadata, limit, generatedId) => {
          const sagaId = generatedId ? '' : 'order-1';
          const { definition } = start([step('a-rather-long-step-name'), step('b')], { sagaId, metadata });
          let accepted = true;
          try {
            checkOutcomeEventFits(sagaId, definition, limit);
          } catch {
            accepted = false;
          }
          if (!accepted) return;
          const { row, event } = outcome(sagaWith(metadata, { reason: 'r'.repeat(OUTCOME_TEXT_ROOM_BYTES) }), limit);
          expect(event.truncatedFields).toEqual([]);
          expect(carried(row)).toBeLessThanOrEqual(limit);
        },
      ),
    );
  });
});

describe('utf8Prefix', () => {
  it('never splits a character', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), fc.nat(800), (raw, n) => {
        const text = utf8(raw);
        const prefix = utf8Prefix(text, n);
        expect(Buffer.byteLength(prefix)).toBeLessThanOrEqual(Math.max(n, 0));
        expect(text.startsWith(prefix)).toBe(true);
        if (Buffer.byteLength(text) <= n) expect(prefix).toBe(text);
      }),
    );
  });
});
