import type { Seed } from './example-service.js';

/**
 * Reads `seed[key]` as an object of non-negative integers (e.g. {"A": 10});
 * absent = empty. Throws naming the key on anything else.
 */
export function seedCounts(seed: Seed, key: string): Map<string, number> {
  const section = seed[key];
  const counts = new Map<string, number>();
  if (section === undefined) return counts;
  if (typeof section !== 'object' || section === null || Array.isArray(section)) {
    throw new TypeError(`PARTICIPANT_SEED: "${key}" must be an object of counts`);
  }
  for (const [name, value] of Object.entries(section)) {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      throw new TypeError(`PARTICIPANT_SEED: "${key}.${name}" must be a non-negative integer`);
    }
    counts.set(name, value);
  }
  return counts;
}
