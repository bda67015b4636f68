// Coordinator-chosen saga ids are UUIDv7 (RFC 9562): time-ordered, so the
// index on saga ids grows at its end instead of at random places.

import { RandomPool } from '../util/random-pool.js';

// Random bytes drawn 4 KiB at a time (one call into the CSPRNG per 256 ids).
const pool = new RandomPool(4096);

export function newSagaId(now: number): string {
  const bytes = pool.take(16);
  // The 48-bit millisecond time, big-endian (exact in doubles up to 2^53).
  let ms = now;
  for (let i = 5; i >= 0; i--) {
    bytes[i] = ms % 256;
    ms = Math.floor(ms / 256);
  }
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x70; // version 7
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80; // RFC 4122 variant
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
