import { TerminalError } from '@saga/sdk';

// Payloads are JSON objects. A malformed payload is a business failure
// (INVALID_PAYLOAD): retrying the same bytes cannot help.

export type JsonObject = Record<string, unknown>;

export const INVALID_PAYLOAD = 'INVALID_PAYLOAD';

/** Parses the payload as a JSON object; empty bytes are `{}`. */
export function parseJsonObject(payload: Buffer): JsonObject {
  if (payload.length === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(payload.toString('utf8'));
  } catch {
    throw new TerminalError(INVALID_PAYLOAD, 'the payload is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TerminalError(INVALID_PAYLOAD, 'the payload must be a JSON object');
  }
  return value as JsonObject;
}

export function requiredString(object: JsonObject, field: string): string {
  const value = object[field];
  if (typeof value !== 'string' || value === '') {
    throw new TerminalError(INVALID_PAYLOAD, `payload field "${field}" must be a non-empty string`);
  }
  return value;
}

export function optionalString(object: JsonObject, field: string): string | undefined {
  if (object[field] === undefined) return undefined;
  return requiredString(object, field);
}

export function positiveInteger(object: JsonObject, field: string): number {
  const value = object[field];
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new TerminalError(INVALID_PAYLOAD, `payload field "${field}" must be a positive integer`);
  }
  return value;
}

/** JSON output bytes of a step. */
export function jsonOutput(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}
