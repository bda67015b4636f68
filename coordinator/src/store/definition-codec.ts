// Stored form of a saga definition: JSON with payloads as base64.

import type { SagaDefinition, StepDefinition } from '../domain/saga-types.js';

interface StoredStep extends Omit<StepDefinition, 'payload'> {
  readonly payload: string;
}

interface StoredDefinition extends Omit<SagaDefinition, 'steps'> {
  readonly steps: readonly StoredStep[];
}

export function encodeDefinition(def: SagaDefinition): string {
  const stored: StoredDefinition = {
    ...def,
    steps: def.steps.map((s) => ({ ...s, payload: s.payload.toString('base64') })),
  };
  return JSON.stringify(stored);
}

export function decodeDefinition(text: string): SagaDefinition {
  const stored = JSON.parse(text) as StoredDefinition;
  return { ...stored, steps: stored.steps.map((s) => ({ ...s, payload: Buffer.from(s.payload, 'base64') })) };
}
