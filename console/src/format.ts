// How times, durations and sizes read on the pages.

export function time(ms: number | undefined): string {
  if (ms === undefined) return '—';
  const d = new Date(ms);
  const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const whole = (big: number, unit: string, small: number, smallUnit: string): string => (small === 0 ? `${big} ${unit}` : `${big} ${unit} ${small} ${smallUnit}`);
  if (ms < 3_600_000) return whole(Math.floor(ms / 60_000), 'min', Math.floor((ms % 60_000) / 1000), 's');
  return whole(Math.floor(ms / 3_600_000), 'h', Math.floor((ms % 3_600_000) / 60_000), 'min');
}

export function bytes(n: number | undefined): string {
  if (n === undefined) return '—';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

export function seconds(s: number | undefined): string {
  return s === undefined ? '—' : `≤ ${duration(s * 1000)}`;
}

export function percent(ratio: number | undefined): string {
  return ratio === undefined ? '—' : `${(ratio * 100).toFixed(1)} %`;
}

/** A datetime-local input's value as epoch ms ('' = none). */
export function fromLocalInput(value: string): string {
  if (value === '') return '';
  const ms = new Date(value).getTime();
  return Number.isFinite(ms) ? String(ms) : '';
}

export function toLocalInput(ms: string | null): string {
  if (ms === null || ms === '') return '';
  const d = new Date(Number(ms));
  if (!Number.isFinite(d.getTime())) return '';
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
