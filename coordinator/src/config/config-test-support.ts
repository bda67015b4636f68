// Helpers for tests of configuration sections: a config file on disk for the
// length of a callback, and the setting a ConfigError names.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from './config.js';

/** Writes `json` to a fresh config file, runs `run` with its path, then removes it. */
export function withConfigFile(json: unknown, run: (path: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'config-'));
  try {
    const path = join(dir, 'config.json');
    writeFileSync(path, JSON.stringify(json));
    run(path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The setting (or environment variable) named by the ConfigError `fn` throws; 'none' if it does not throw. */
export function settingOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.message.replace(/^config /, '').split(':')[0] ?? '';
    throw err;
  }
  return 'none';
}
