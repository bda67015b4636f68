// Validates a StartSaga request and turns it into a stored definition with
// every default applied. Every error is INVALID_ARGUMENT naming the field.

import { createHash } from 'node:crypto';
import { invalidArgument } from './errors.js';
import { checkMaxLength, FIELD_LIMITS, ID_PATTERN, NAME_PATTERN, quote } from './field-limits.js';
import type {
  RetryPolicy,
  RetryPolicyInput,
  SagaDefinition,
  StartSagaInput,
  StepDefinition,
} from './saga-types.js';

export interface ValidationLimits {
  /** Steps per saga. */
  readonly maxSteps: number;
  /** Bytes of one step's payload. */
  readonly maxPayloadBytes: number;
  /** Bytes of all payloads of one saga together. */
  readonly maxTotalPayloadBytes: number;
  /** Entries of a metadata map (saga or step). */
  readonly maxMetadataEntries: number;
  /** Bytes of one metadata key or value. */
  readonly maxMetadataValueBytes: number;
  /** Upper bound of StartSaga's wait_ms. */
  readonly maxWaitMs: number;
  /** Upper bound of a saga deadline. */
  readonly maxDeadlineMs: number;
  /** Upper bound of max_attempts. */
  readonly maxAttempts: number;
  /** Upper bound of attempt_timeout_ms. */
  readonly maxAttemptTimeoutMs: number;
  /** Upper bound of initial/max backoff. */
  readonly maxBackoffMs: number;
}

export interface RetryDefaults {
  readonly execute: RetryPolicy;
  readonly compensate: RetryPolicy;
}

/** How the registry judges a step's participant. */
export type ParticipantCheck = 'registered' | 'unknown' | 'raw-address-refused' | 'raw-address-allowed';

export interface ValidatedStart {
  readonly sagaId: string;
  readonly definition: SagaDefinition;
  /** Hash of the request's definition (not of the resolved defaults). */
  readonly definitionHash: string;
  readonly waitMs: number;
}

export { ID_PATTERN, NAME_PATTERN };

export function validateStartSaga(
  input: StartSagaInput,
  limits: ValidationLimits,
  defaults: RetryDefaults,
  checkParticipant: (name: string) => ParticipantCheck,
): ValidatedStart {
  if (input.sagaId !== '' && !ID_PATTERN.test(input.sagaId)) {
    throw invalidArgument('saga_id', `must match ${ID_PATTERN.source} (at most 128 characters)`);
  }
  checkName('name', input.name);
  if (input.steps.length === 0) throw invalidArgument('steps', 'at least one step is required');
  if (input.steps.length > limits.maxSteps) {
    throw invalidArgument('steps', `${input.steps.length} steps exceed the limit of ${limits.maxSteps}`);
  }
  checkMetadata('metadata', input.metadata, limits);
  if (input.waitMs < 0 || input.waitMs > limits.maxWaitMs || !Number.isInteger(input.waitMs)) {
    throw invalidArgument('wait_ms', `must be an integer from 0 to ${limits.maxWaitMs}`);
  }
  if (input.deadlineMs < 0 || input.deadlineMs > limits.maxDeadlineMs || !Number.isInteger(input.deadlineMs)) {
    throw invalidArgument('options.deadline_ms', `must be an integer from 0 (none) to ${limits.maxDeadlineMs}`);
  }
  const sagaRetry = resolvePolicy('options.default_retry', input.defaultRetry, defaults.execute, limits);
  const sagaCompRetry = resolvePolicy(
    'options.default_compensation_retry',
    input.defaultCompensationRetry,
    defaults.compensate,
    limits,
  );

  const tcc = input.kind === 'TCC';
  const names = new Map<string, number>();
  let totalPayload = 0;
  const steps: StepDefinition[] = input.steps.map((step, i) => {
    const f = `steps[${i}]`;
    checkName(`${f}.name`, step.name);
    if (names.has(step.name)) {
      throw invalidArgument(`${f}.name`, `duplicate step name ${quote(step.name)} (also steps[${names.get(step.name)}])`);
    }
    names.set(step.name, i);
    checkParticipantField(`${f}.participant`, step.participant, checkParticipant);
    if (step.dependsOn.length > limits.maxSteps) {
      throw invalidArgument(`${f}.depends_on`, `${step.dependsOn.length} entries exceed the limit of ${limits.maxSteps} steps`);
    }
    // Lengths before any lookup of the names (checkDependencies).
    step.dependsOn.forEach((dep, j) => checkMaxLength(`${f}.depends_on[${j}]`, dep, FIELD_LIMITS.name));
    checkName(`${f}.action`, step.action);
    if (tcc && step.compensateAction !== '') {
      throw invalidArgument(`${f}.compensate_action`, 'must be empty for a TCC branch: Try, Confirm and Cancel all get the action');
    }
    if (tcc && step.noCompensation) throw invalidArgument(`${f}.no_compensation`, 'must be false for a TCC branch: every tried branch is cancelled');
    if (step.compensateAction !== '') checkName(`${f}.compensate_action`, step.compensateAction);
    if (step.payload.length > limits.maxPayloadBytes) {
      throw invalidArgument(`${f}.payload`, `${step.payload.length} bytes exceed the limit of ${limits.maxPayloadBytes}`);
    }
    totalPayload += step.payload.length;
    checkMetadata(`${f}.metadata`, step.metadata, limits);
    return {
      name: step.name,
      participant: step.participant,
      action: step.action,
      compensateAction: step.compensateAction === '' ? step.action : step.compensateAction,
      payload: step.payload,
      dependsOn: [...step.dependsOn],
      noCompensation: step.noCompensation,
      retry: resolvePolicy(`${f}.retry`, step.retry, sagaRetry, limits),
      compensationRetry: resolvePolicy(`${f}.compensation_retry`, step.compensationRetry, sagaCompRetry, limits),
      metadata: step.metadata,
    };
  });
  if (totalPayload > limits.maxTotalPayloadBytes) {
    throw invalidArgument('steps', `payloads total ${totalPayload} bytes, over the limit of ${limits.maxTotalPayloadBytes}`);
  }
  const graph = steps.some((s) => s.dependsOn.length > 0);
  if (graph) checkDependencies(steps, names);

  const definition: SagaDefinition = {
    name: input.name,
    steps,
    deadlineMs: input.deadlineMs,
    metadata: input.metadata,
    graph,
    ...(tcc ? { kind: 'TCC' as const } : {}),
  };
  return { sagaId: input.sagaId, definition, definitionHash: hashRequest(input), waitMs: input.waitMs };
}

function checkName(field: string, value: string): void {
  if (value === '') throw invalidArgument(field, 'is required');
  checkMaxLength(field, value, FIELD_LIMITS.name);
  if (!NAME_PATTERN.test(value)) {
    throw invalidArgument(field, `${quote(value)} must start with a letter and contain only letters, digits, "_" and "-"`);
  }
}

function checkParticipantField(field: string, value: string, check: (name: string) => ParticipantCheck): void {
  if (value === '') throw invalidArgument(field, 'is required');
  checkMaxLength(field, value, FIELD_LIMITS.participant);
  switch (check(value)) {
    case 'registered':
    case 'raw-address-allowed':
      return;
    case 'raw-address-refused':
      throw invalidArgument(field, `raw addresses are refused (${quote(value)}); name a participant registered with the coordinator`);
    case 'unknown':
      throw invalidArgument(field, `unknown participant ${quote(value)}; it must be registered in the coordinator's configuration`);
  }
}

function checkMetadata(field: string, metadata: Record<string, string>, limits: ValidationLimits): void {
  const entries = Object.entries(metadata);
  if (entries.length > limits.maxMetadataEntries) {
    throw invalidArgument(field, `${entries.length} entries exceed the limit of ${limits.maxMetadataEntries}`);
  }
  for (const [k, v] of entries) {
    if (k === '') throw invalidArgument(field, 'keys must not be empty');
    if (Buffer.byteLength(k) > limits.maxMetadataValueBytes || Buffer.byteLength(v) > limits.maxMetadataValueBytes) {
      throw invalidArgument(`${field}["${k.slice(0, 64)}"]`, `keys and values are limited to ${limits.maxMetadataValueBytes} bytes`);
    }
  }
}

function resolvePolicy(
  field: string,
  input: RetryPolicyInput | undefined,
  fallback: RetryPolicy,
  limits: ValidationLimits,
): RetryPolicy {
  if (input === undefined) return fallback;
  const int = (name: string, v: number, max: number): void => {
    if (!Number.isInteger(v) || v < 0 || v > max) throw invalidArgument(`${field}.${name}`, `must be an integer from 0 (default) to ${max}`);
  };
  int('max_attempts', input.maxAttempts, limits.maxAttempts);
  int('attempt_timeout_ms', input.attemptTimeoutMs, limits.maxAttemptTimeoutMs);
  int('initial_backoff_ms', input.initialBackoffMs, limits.maxBackoffMs);
  int('max_backoff_ms', input.maxBackoffMs, limits.maxBackoffMs);
  if (!Number.isFinite(input.backoffMultiplier) || (input.backoffMultiplier !== 0 && (input.backoffMultiplier < 1 || input.backoffMultiplier > 100))) {
    throw invalidArgument(`${field}.backoff_multiplier`, 'must be 0 (default) or from 1 to 100');
  }
  const policy: RetryPolicy = {
    maxAttempts: input.maxAttempts || fallback.maxAttempts,
    attemptTimeoutMs: input.attemptTimeoutMs || fallback.attemptTimeoutMs,
    initialBackoffMs: input.initialBackoffMs || fallback.initialBackoffMs,
    maxBackoffMs: input.maxBackoffMs || fallback.maxBackoffMs,
    backoffMultiplier: input.backoffMultiplier || fallback.backoffMultiplier,
  };
  if (policy.maxBackoffMs < policy.initialBackoffMs) {
    throw invalidArgument(`${field}.max_backoff_ms`, `(${policy.maxBackoffMs}) must not be below initial_backoff_ms (${policy.initialBackoffMs})`);
  }
  return policy;
}

function checkDependencies(steps: readonly StepDefinition[], names: Map<string, number>): void {
  steps.forEach((step, i) => {
    const seen = new Set<string>();
    step.dependsOn.forEach((dep, j) => {
      const f = `steps[${i}].depends_on[${j}]`;
      if (dep === step.name) throw invalidArgument(f, `step ${quote(step.name)} cannot depend on itself`);
      if (!names.has(dep)) throw invalidArgument(f, `unknown step ${quote(dep)}`);
      if (seen.has(dep)) throw invalidArgument(f, `${quote(dep)} is listed twice`);
      seen.add(dep);
    });
  });
  // Depth-first search for a cycle; reports one step on it.
  const state = new Array<number>(steps.length).fill(0); // 0 new, 1 on stack, 2 done
  const visit = (i: number, path: string[]): void => {
    state[i] = 1;
    const step = steps[i] as StepDefinition;
    for (const dep of step.dependsOn) {
      const d = names.get(dep) as number;
      if (state[d] === 1) {
        throw invalidArgument(`steps[${i}].depends_on`, `cycle: ${[...path, step.name, dep].join(' -> ')}`);
      }
      if (state[d] === 0) visit(d, [...path, step.name]);
    }
    state[i] = 2;
  };
  steps.forEach((_, i) => {
    if (state[i] === 0) visit(i, []);
  });
}

/** Canonical hash of what defines the saga (not its id or how long the caller waits). */
function hashRequest(input: StartSagaInput): string {
  const sorted = (m: Record<string, string>): [string, string][] => Object.entries(m).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const canonical = JSON.stringify([
    // Only a TCC kind is hashed, so that the hashes of sagas stay as they were.
    ...(input.kind === 'TCC' ? ['TCC'] : []),
    input.name,
    input.deadlineMs,
    input.defaultRetry ?? null,
    input.defaultCompensationRetry ?? null,
    sorted(input.metadata),
    input.steps.map((s) => [
      s.name,
      s.participant,
      s.action,
      s.compensateAction,
      s.payload.toString('base64'),
      s.dependsOn,
      s.noCompensation,
      s.retry ?? null,
      s.compensationRetry ?? null,
      sorted(s.metadata),
    ]),
  ]);
  return createHash('sha256').update(canonical).digest('base64url');
}
