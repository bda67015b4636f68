// Random bytes from the CSPRNG drawn a block at a time: one call into OpenSSL
// per block instead of one per draw (a randomBytes(8) per participant call),
// as node's own randomUUID does with its buffered entropy.

import { randomFillSync } from 'node:crypto';

export class RandomPool {
  private readonly block: Buffer;
  private used: number;

  /** `blockBytes`: how many bytes one CSPRNG call fills; `fill` is injected for tests. */
  constructor(
    blockBytes = 4096,
    private readonly fill: (into: Buffer) => void = (into) => randomFillSync(into),
  ) {
    if (!Number.isInteger(blockBytes) || blockBytes < 1) throw new RangeError(`blockBytes must be a positive integer, not ${blockBytes}`);
    this.block = Buffer.alloc(blockBytes);
    this.used = blockBytes;
  }

  /** `n` fresh random bytes, a copy of their own (never handed out twice). */
  take(n: number): Buffer {
    return Buffer.from(this.view(n));
  }

  /** `n` fresh random bytes as 2n lower-case hex digits. */
  hex(n: number): string {
    return this.view(n).toString('hex');
  }

  private view(n: number): Buffer {
    if (!Number.isInteger(n) || n < 1 || n > this.block.length) throw new RangeError(`n must be an integer in [1, ${this.block.length}], not ${n}`);
    if (this.used + n > this.block.length) {
      this.fill(this.block);
      this.used = 0;
    }
    const bytes = this.block.subarray(this.used, this.used + n);
    this.used += n;
    return bytes;
  }
}
