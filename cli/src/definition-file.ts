// Reads a saga definition for `saga start --file` from JSON or YAML. The
// file's fields are the SDK's SagaDefinition (camelCase) plus an optional
// sagaId; unknown fields are refused by path so a typo is not silently dropped.
// Types and ranges are then checked by the SDK, the rest by the coordinator.

import type { SagaDefinition } from '@saga/sdk';
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { UsageError } from './cli-errors.js';

export interface DefinitionFile {
  readonly definition: SagaDefinition;
  /** From the file's `sagaId`, if any. */
  readonly sagaId: string | undefined;
}

const SAGA_FIELDS = new Set(['sagaId', 'name', 'kind', 'steps', 'options', 'metadata']);
const STEP_FIELDS = new Set([
  'name',
  'participant',
  'action',
  'compensateAction',
  'payload',
  'dependsOn',
  'noCompensation',
  'retry',
  'compensationRetry',
  'metadata',
]);
const OPTION_FIELDS = new Set(['deadlineMs', 'defaultRetry', 'defaultCompensationRetry']);
const RETRY_FIELDS = new Set(['maxAttempts', 'attemptTimeoutMs', 'initialBackoffMs', 'maxBackoffMs', 'backoffMultiplier']);

export function readDefinitionFile(path: string): DefinitionFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`--file: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  return parseDefinition(text, path);
}

export function parseDefinition(text: string, path: string): DefinitionFile {
  const value = parseText(text, path);
  const saga = objectAt(path, '', value);
  checkFields(path, '', saga, SAGA_FIELDS);
  if (saga.sagaId !== undefined && (typeof saga.sagaId !== 'string' || saga.sagaId === '')) {
    throw new UsageError(`${path}: sagaId: must be a non-empty string`);
  }
  if (saga.kind !== undefined && saga.kind !== 'SAGA' && saga.kind !== 'TCC') {
    throw new UsageError(`${path}: kind: must be SAGA or TCC (TCC: each step is a branch, action its Try; no compensateAction)`);
  }
  if (!Array.isArray(saga.steps)) throw new UsageError(`${path}: steps: must be a list of steps`);
  saga.steps.forEach((step: unknown, i: number) => {
    const at = `steps[${i}]`;
    const s = objectAt(path, at, step);
    checkFields(path, at, s, STEP_FIELDS);
    for (const policy of ['retry', 'compensationRetry']) {
      if (s[policy] !== undefined) checkFields(path, `${at}.${policy}`, objectAt(path, `${at}.${policy}`, s[policy]), RETRY_FIELDS);
    }
  });
  if (saga.options !== undefined) {
    const options = objectAt(path, 'options', saga.options);
    checkFields(path, 'options', options, OPTION_FIELDS);
    for (const policy of ['defaultRetry', 'defaultCompensationRetry']) {
      if (options[policy] !== undefined) checkFields(path, `options.${policy}`, objectAt(path, `options.${policy}`, options[policy]), RETRY_FIELDS);
    }
  }
  const { sagaId, ...definition } = saga;
  return { definition: definition as unknown as SagaDefinition, sagaId: sagaId };
}

function parseText(text: string, path: string): unknown {
  const ext = extname(path).toLowerCase();
  try {
    if (ext === '.json') return JSON.parse(text) as unknown;
    // YAML 1.2 reads JSON too, so any other extension is parsed as YAML.
    return parseYaml(text) as unknown;
  } catch (err) {
    throw new UsageError(`${path}: not valid ${ext === '.json' ? 'JSON' : 'YAML'}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function objectAt(path: string, at: string, value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UsageError(`${path}: ${at === '' ? 'the file' : at}: must be an object`);
  }
  return value as Record<string, unknown>;
}

function checkFields(path: string, at: string, value: Record<string, unknown>, allowed: ReadonlySet<string>): void {
  for (const key of Object.keys(value)) {
    if (!allowed.has(key)) {
      throw new UsageError(`${path}: ${at === '' ? key : `${at}.${key}`}: unknown field (known: ${[...allowed].join(', ')})`);
    }
  }
}
