import { describe, expect, it } from 'vitest';
import { internMessage, internedMessageStats } from './compact-definition.js';

describe('internMessage', () => {
  it('shares one copy of a repeated short message', () => {
    const a = internMessage(['UNAVAILABLE', 'participant down'].join(': '));
    const b = internMessage(['UNAVAILABLE', 'participant down'].join(': '));
    expect(b).toBe(a);
  });

  it('stays bounded in bytes: long participant texts are returned but not kept', () => {
    const before = internedMessageStats();
    for (let i = 0; i < 50; i++) {
      const long = `FAILED: ${String(i)} ${'x'.repeat(100_000)}`;
      expect(internMessage(long)).toBe(long);
    }
    const after = internedMessageStats();
    expect(after.entries).toBe(before.entries);
    expect(after.chars).toBe(before.chars);
  });
});
