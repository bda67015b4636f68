// Sagas of one kind share the small parts of their definitions: names,
// actions, retry policies, empty maps (and the last errors of their steps) are interned, so that an active saga
// (100,000 of them may wait out a backoff) holds little more than its own
// payloads. The interner is bounded: past its size it stops adding, so a stream
// of unique names cannot grow it without end.

import type { RetryPolicy, SagaDefinition, StepDefinition } from '../domain/saga-types.js';

const MAX_ENTRIES = 20_000;
const strings = new Map<string, string>();
const policies = new Map<string, RetryPolicy>();
const EMPTY_MAP: Readonly<Record<string, string>> = Object.freeze({});
const EMPTY_LIST: readonly string[] = Object.freeze([]);

function intern(s: string): string {
  const known = strings.get(s);
  if (known !== undefined) return known;
  if (strings.size < MAX_ENTRIES) strings.set(s, s);
  return s;
}

const messages = new Map<string, string>();
const MAX_MESSAGES = 1000;
/** Longer texts are not kept: the cache is bounded in bytes as well as entries. */
const MAX_MESSAGE_CHARS = 1024;

/** One shared, flat copy of an error message seen before (a failing participant repeats itself). */
export function internMessage(s: string): string {
  const known = messages.get(s);
  if (known !== undefined) return known;
  if (messages.size < MAX_MESSAGES && s.length <= MAX_MESSAGE_CHARS) messages.set(s, s);
  return s;
}

/** How many messages the cache holds and their total length (for its test). */
export function internedMessageStats(): { entries: number; chars: number } {
  let chars = 0;
  for (const m of messages.keys()) chars += m.length;
  return { entries: messages.size, chars };
}

function internPolicy(p: RetryPolicy): RetryPolicy {
  const key = `${p.maxAttempts}/${p.attemptTimeoutMs}/${p.initialBackoffMs}/${p.maxBackoffMs}/${p.backoffMultiplier}`;
  const known = policies.get(key);
  if (known !== undefined) return known;
  const frozen = Object.freeze({ ...p });
  if (policies.size < MAX_ENTRIES) policies.set(key, frozen);
  return frozen;
}

function map(m: Readonly<Record<string, string>>): Readonly<Record<string, string>> {
  for (const _ in m) return m;
  return EMPTY_MAP;
}

const EMPTY_PAYLOAD = Buffer.alloc(0);

/**
 * The saga's payloads copied into one buffer of their own. Small buffers
 * decoded from a request live in Node's shared 8 KiB pool slabs, and one
 * long-lived payload keeps its whole slab alive.
 */
function compactPayloads(steps: readonly StepDefinition[]): Buffer[] {
  let total = 0;
  for (const s of steps) total += s.payload.length;
  const block = Buffer.allocUnsafeSlow(total);
  let at = 0;
  return steps.map((s) => {
    if (s.payload.length === 0) return EMPTY_PAYLOAD;
    s.payload.copy(block, at);
    at += s.payload.length;
    return block.subarray(at - s.payload.length, at);
  });
}

/** The same definition with shared parts interned, its payloads in one block (non-empty maps are kept as they are). */
export function compactDefinition(def: SagaDefinition): SagaDefinition {
  const payloads = compactPayloads(def.steps);
  return {
    name: intern(def.name),
    steps: def.steps.map(
      (s, i): StepDefinition => ({
        name: intern(s.name),
        participant: intern(s.participant),
        action: intern(s.action),
        compensateAction: intern(s.compensateAction),
        payload: payloads[i] ?? s.payload,
        dependsOn: s.dependsOn.length === 0 ? EMPTY_LIST : s.dependsOn.map(intern),
        noCompensation: s.noCompensation,
        retry: internPolicy(s.retry),
        compensationRetry: internPolicy(s.compensationRetry),
        metadata: map(s.metadata),
      }),
    ),
    deadlineMs: def.deadlineMs,
    metadata: map(def.metadata),
    graph: def.graph,
    ...(def.kind !== undefined ? { kind: def.kind } : {}),
    ...(def.traceParent !== undefined ? { traceParent: def.traceParent } : {}),
  };
}
