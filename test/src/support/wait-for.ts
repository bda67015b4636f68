// The one polling helper of the TypeScript tests: waits for a condition, never
// a fixed sleep. Built on vitest's vi.waitFor (tests in other packages call
// vi.waitFor or expect.poll directly); this adds the probe-returns-a-value form
// and a failure message naming what was awaited.

// vitest is loaded on first use, so that modules importing this one (the test
// client, used by bench scripts too) load outside a vitest run.
export async function waitFor<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  what: string | (() => string),
  timeoutMs = 15_000,
  intervalMs = 20,
): Promise<T> {
  const { vi } = await import('vitest');
  return vi.waitFor(
    async () => {
      const value = await probe();
      if (value === undefined || value === false) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`);
      return value;
    },
    { timeout: timeoutMs, interval: intervalMs },
  );
}
