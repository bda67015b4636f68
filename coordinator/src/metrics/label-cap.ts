// Bounds the distinct values of a metric label chosen by clients (saga and
// step names): the first `max` values seen are kept, every later one is
// counted as "other", so the number of series stays bounded however many
// names clients invent. Memory: the kept values only.

export const OTHER_LABEL = 'other';

export class LabelCap {
  private readonly kept = new Set<string>();

  constructor(private readonly max: number) {
    if (!Number.isInteger(max) || max < 1) throw new Error('LabelCap: max must be a positive integer');
  }

  /** `value` itself if it is (or can still be) kept, else "other". `key` defaults to the value. */
  label(value: string, key: string = value): string {
    if (this.kept.has(key)) return value;
    if (this.kept.size >= this.max) return OTHER_LABEL;
    this.kept.add(key);
    return value;
  }
}
