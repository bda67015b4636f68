// A fresh directory per test, named after it, removed afterwards.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function testDir(testName: string): { path: string; file: (name: string) => string; remove: () => void } {
  const slug = testName.toLowerCase().replace(/[^a-z0-9]+/g, '-').slice(0, 40);
  const path = mkdtempSync(join(tmpdir(), `saga-${slug}-`));
  return { path, file: (name) => join(path, name), remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** An id derived from the test name, unique per call. */
export function idFor(testName: string, suffix = ''): string {
  const slug = testName.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60);
  return `${slug}${suffix === '' ? '' : `-${suffix}`}-${Math.random().toString(36).slice(2, 8)}`;
}
