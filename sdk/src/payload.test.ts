import { describe, expect, it } from 'vitest';
import { encodePayload } from './payload.js';

describe('encodePayload', () => {
  it('sends bytes as is, strings as UTF-8, objects as JSON and undefined as nothing', () => {
    const bytes = new Uint8Array([0, 255, 7]);
    expect([...encodePayload(bytes)]).toEqual([0, 255, 7]);
    expect(encodePayload('héllo').toString('utf8')).toBe('héllo');
    expect(encodePayload({ sku: 'A', quantity: 2 }).toString()).toBe('{"sku":"A","quantity":2}');
    expect(encodePayload([1, 2]).toString()).toBe('[1,2]');
    expect(encodePayload(undefined)).toHaveLength(0);
  });

  it('keeps the view of a Uint8Array slice', () => {
    const slice = new Uint8Array([1, 2, 3, 4]).subarray(1, 3);
    expect([...encodePayload(slice)]).toEqual([2, 3]);
  });

  it('refuses values JSON cannot encode', () => {
    expect(() => encodePayload(() => 1)).toThrow(/JSON/);
  });
});
