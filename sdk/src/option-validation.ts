// Construction-time checks shared by the SDK's option objects. Each error names
// the owner and the option so that a misconfiguration is found at start-up.

export function invalidOption(owner: string, option: string, expected: string, value: unknown): TypeError {
  return new TypeError(`${owner}: option "${option}" must be ${expected}, got ${describe(value)}`);
}

export function checkInteger(owner: string, option: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalidOption(owner, option, `an integer in [${min}, ${max}]`, value);
  }
  return value;
}

export function checkNonEmptyString(owner: string, option: string, value: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw invalidOption(owner, option, 'a non-empty string', value);
  return value;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || value === undefined || typeof value !== 'object') return String(value);
  return Object.prototype.toString.call(value);
}
