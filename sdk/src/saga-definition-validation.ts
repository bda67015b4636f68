import type { RetryPolicy, SagaDefinition, StartSagaOptions, StepDefinition } from './saga-definition.js';

// Checks what would otherwise be encoded wrongly or silently dropped (types,
// uint32 ranges, duplicate step names). Naming rules and the dependency
// graph are the coordinator's to judge: it answers INVALID_ARGUMENT naming
// the field, so both stay defined in one place.

const UINT32_MAX = 4_294_967_295;

function fail(path: string, expected: string, value: unknown): never {
  throw new TypeError(`saga definition: ${path} must be ${expected}, got ${JSON.stringify(value) ?? String(value)}`);
}

function checkString(path: string, value: unknown, required: boolean): void {
  if (value === undefined && !required) return;
  if (typeof value !== 'string' || (required && value === '')) fail(path, 'a non-empty string', value);
}

function checkUint32(path: string, value: unknown): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > UINT32_MAX) {
    fail(path, `an integer in [0, ${UINT32_MAX}]`, value);
  }
}

function checkStringMap(path: string, value: unknown): void {
  if (value === undefined) return;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(path, 'an object of strings', value);
  for (const [key, entry] of Object.entries(value)) {
    if (typeof entry !== 'string') fail(`${path}.${key}`, 'a string', entry);
  }
}

export function validateRetryPolicy(path: string, policy: RetryPolicy | undefined): void {
  if (policy === undefined) return;
  if (typeof policy !== 'object' || policy === null) fail(path, 'an object', policy);
  checkUint32(`${path}.maxAttempts`, policy.maxAttempts);
  checkUint32(`${path}.attemptTimeoutMs`, policy.attemptTimeoutMs);
  checkUint32(`${path}.initialBackoffMs`, policy.initialBackoffMs);
  checkUint32(`${path}.maxBackoffMs`, policy.maxBackoffMs);
  const multiplier = policy.backoffMultiplier;
  if (multiplier !== undefined && (typeof multiplier !== 'number' || !Number.isFinite(multiplier) || (multiplier !== 0 && multiplier < 1))) {
    fail(`${path}.backoffMultiplier`, '0 (default) or a number >= 1', multiplier);
  }
}

/** Throws a TypeError naming the first invalid field. */
export function validateSagaDefinition(definition: SagaDefinition): void {
  checkString('name', definition.name, true);
  if (!Array.isArray(definition.steps) || definition.steps.length === 0) fail('steps', 'a non-empty array', definition.steps);
  // Re-typed: Array.isArray narrows a readonly array's elements to any.
  const steps: readonly StepDefinition[] = definition.steps;
  const seen = new Set<string>();
  steps.forEach((step, index) => {
    const path = `steps[${index}]`;
    checkString(`${path}.name`, step.name, true);
    if (seen.has(step.name)) fail(`${path}.name`, 'unique within the saga', step.name);
    seen.add(step.name);
    checkString(`${path}.participant`, step.participant, true);
    checkString(`${path}.action`, step.action, true);
    checkString(`${path}.compensateAction`, step.compensateAction, false);
    const dependsOn: unknown = step.dependsOn;
    if (dependsOn !== undefined) {
      if (!Array.isArray(dependsOn)) fail(`${path}.dependsOn`, 'an array of step names', dependsOn);
      dependsOn.forEach((dep: unknown, i: number) => checkString(`${path}.dependsOn[${i}]`, dep, true));
    }
    if (step.noCompensation !== undefined && typeof step.noCompensation !== 'boolean') {
      fail(`${path}.noCompensation`, 'a boolean', step.noCompensation);
    }
    validateRetryPolicy(`${path}.retry`, step.retry);
    validateRetryPolicy(`${path}.compensationRetry`, step.compensationRetry);
    checkStringMap(`${path}.metadata`, step.metadata);
  });
  checkUint32('options.deadlineMs', definition.options?.deadlineMs);
  validateRetryPolicy('options.defaultRetry', definition.options?.defaultRetry);
  validateRetryPolicy('options.defaultCompensationRetry', definition.options?.defaultCompensationRetry);
  checkStringMap('metadata', definition.metadata);
}

export function validateStartOptions(options: StartSagaOptions): void {
  checkString('start.sagaId', options.sagaId, false);
  checkUint32('start.waitMs', options.waitMs);
  if (options.deadlineMs !== undefined && (!Number.isInteger(options.deadlineMs) || options.deadlineMs <= 0)) {
    fail('start.deadlineMs', 'a positive integer', options.deadlineMs);
  }
}
