// Sagas of one kind share the small parts of their definitions: names,
// actions, retry policies and empty maps are interned, so that an active saga
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

/** The same definition with shared parts interned (payloads and non-empty maps are kept as they are). */
export function compactDefinition(def: SagaDefinition): SagaDefinition {
  return {
    name: intern(def.name),
    steps: def.steps.map(
      (s): StepDefinition => ({
        name: intern(s.name),
        participant: intern(s.participant),
        action: intern(s.action),
        compensateAction: intern(s.compensateAction),
        payload: s.payload,
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
  };
}
