import { describe, expect, it } from 'vitest';
import { CallCancellation } from './call-cancellation.js';

describe('CallCancellation', () => {
  it('is not aborted until cancelled, and aborts the signal already handed out', () => {
    const c = new CallCancellation();
    const signal = c.signal;
    expect(signal.aborted).toBe(false);
    expect(c.signal).toBe(signal);
    let heard = 0;
    signal.addEventListener('abort', () => heard++);
    c.cancel();
    expect(signal.aborted).toBe(true);
    expect(heard).toBe(1);
    c.cancel();
    expect(heard).toBe(1);
  });

  it('hands out an aborted signal when cancelled before it was read', () => {
    const c = new CallCancellation();
    c.cancel();
    expect(c.signal.aborted).toBe(true);
    expect(c.signal).toBe(c.signal);
  });
});
