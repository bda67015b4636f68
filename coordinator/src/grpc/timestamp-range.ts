// google.protobuf.Timestamp fields checked on the wire. The generated code
// turns a Timestamp into a Date, which silently folds nanos outside
// [0, 999,999,999] into the milliseconds; so the range is checked on the
// request's bytes, and the decoded request carries the first offending field.

import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import { invalidArgument } from '../domain/errors.js';

// 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z, the range the Timestamp type defines.
const MIN_SECONDS = -62_135_596_800;
const MAX_SECONDS = 253_402_300_799;
const MAX_NANOS = 999_999_999;

const INVALID = Symbol('invalid timestamp field');

/** Wraps a decoder: `fields` maps top-level Timestamp field numbers to their names. */
export function checkingTimestamps<T extends object>(
  decode: (bytes: Buffer) => T,
  fields: Readonly<Record<number, string>>,
): (bytes: Buffer) => T {
  return (bytes) => {
    const request = decode(bytes);
    const problem = firstInvalidTimestamp(bytes, fields);
    if (problem !== undefined) Object.defineProperty(request, INVALID, { value: problem, enumerable: false });
    return request;
  };
}

/** Throws INVALID_ARGUMENT naming the field when the request's wire form held an invalid Timestamp. */
export function assertTimestampsValid(request: object): void {
  const problem = (request as { [INVALID]?: string })[INVALID];
  if (problem !== undefined) throw invalidArgument(problem, `seconds must be within years 1 to 9999 and nanos within [0, ${MAX_NANOS}]`);
}

function firstInvalidTimestamp(bytes: Uint8Array, fields: Readonly<Record<number, string>>): string | undefined {
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const [fieldNo, wireType] = reader.tag();
    const name = fields[fieldNo];
    if (name !== undefined && wireType === WireType.LengthDelimited) {
      if (!timestampInRange(reader.bytes())) return name;
    } else {
      reader.skip(wireType, fieldNo);
    }
  }
  return undefined;
}

function timestampInRange(bytes: Uint8Array): boolean {
  const reader = new BinaryReader(bytes);
  let seconds = 0;
  let nanos = 0;
  while (reader.pos < reader.len) {
    const [fieldNo, wireType] = reader.tag();
    if (fieldNo === 1 && wireType === WireType.Varint) seconds = Number(reader.int64());
    else if (fieldNo === 2 && wireType === WireType.Varint) nanos = reader.int32();
    else reader.skip(wireType, fieldNo);
  }
  return seconds >= MIN_SECONDS && seconds <= MAX_SECONDS && nanos >= 0 && nanos <= MAX_NANOS;
}
