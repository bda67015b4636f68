// A small command-line parser for the benchmark scripts: "--name value" and
// "--flag" (boolean), with typed getters that name the flag in every error.

export class Args {
  private readonly values = new Map<string, string>();
  private readonly used = new Set<string>();

  constructor(argv: readonly string[]) {
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i] ?? '';
      if (!a.startsWith('--')) throw new Error(`unexpected argument "${a}" (flags are --name value)`);
      const eq = a.indexOf('=');
      if (eq > 0) {
        this.values.set(a.slice(2, eq), a.slice(eq + 1));
        continue;
      }
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) this.values.set(a.slice(2), 'true');
      else {
        this.values.set(a.slice(2), next);
        i++;
      }
    }
  }

  has(name: string): boolean {
    this.used.add(name);
    return this.values.has(name);
  }

  string(name: string, fallback: string): string {
    this.used.add(name);
    return this.values.get(name) ?? fallback;
  }

  optionalString(name: string): string | undefined {
    this.used.add(name);
    return this.values.get(name);
  }

  number(name: string, fallback: number): number {
    this.used.add(name);
    const v = this.values.get(name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name}: "${v}" is not a number >= 0`);
    return n;
  }

  optionalNumber(name: string): number | undefined {
    return this.has(name) ? this.number(name, 0) : undefined;
  }

  boolean(name: string, fallback: boolean): boolean {
    this.used.add(name);
    const v = this.values.get(name);
    if (v === undefined) return fallback;
    if (/^(true|1|yes)$/i.test(v)) return true;
    if (/^(false|0|no)$/i.test(v)) return false;
    throw new Error(`--${name}: "${v}" is not true or false`);
  }

  /** Fails on flags nobody asked for (typos). Call after reading every flag. */
  rejectUnknown(): void {
    const unknown = [...this.values.keys()].filter((k) => !this.used.has(k));
    if (unknown.length > 0) throw new Error(`unknown flag(s): ${unknown.map((k) => `--${k}`).join(', ')} (see --help)`);
  }
}
