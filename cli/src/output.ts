// How the CLI prints: --json writes machine output (one JSON document, or one
// line per snapshot for watch); otherwise aligned tables, coloured only when
// stdout is a terminal (and NO_COLOR is unset).

import { styleText } from 'node:util';

type Style = Parameters<typeof styleText>[0];

export interface Output {
  readonly json: boolean;
  /** Writes one JSON document (Buffers as base64, Dates as ISO strings). */
  writeJson(value: unknown): void;
  /** Writes text lines. */
  writeLines(lines: readonly string[]): void;
  /** Colours a state/outcome word when colour is on. */
  state(word: string): string;
  dim(text: string): string;
}

const STATE_STYLES: Readonly<Record<string, Style>> = {
  COMPLETED: 'green',
  SUCCEEDED: 'green',
  SERVING: 'green',
  COMPENSATED: 'yellow',
  STILL_RUNNING: 'yellow',
  RUNNING: 'cyan',
  COMPENSATING: 'cyan',
  IN_FLIGHT: 'cyan',
  PREPARED: 'cyan',
  COMMITTED: 'green',
  ROLLED_BACK: 'yellow',
  DISCARDED: 'red',
  MANUAL: 'red',
  FAILED: 'red',
  ERROR: 'red',
  NOT_SERVING: 'red',
  RESOLVED: 'blue',
};

export function createOutput(options: { json: boolean; stream: NodeJS.WriteStream; env: NodeJS.ProcessEnv }): Output {
  const colour = options.stream.isTTY === true && options.env.NO_COLOR === undefined && !options.json;
  const paint = (style: Style, text: string): string => (colour ? styleText(style, text) : text);
  return {
    json: options.json,
    writeJson: (value) => options.stream.write(`${JSON.stringify(toJsonValue(value))}\n`),
    writeLines: (lines) => options.stream.write(lines.length === 0 ? '' : `${lines.join('\n')}\n`),
    state: (word) => {
      const style = STATE_STYLES[word];
      return style === undefined ? word : paint(style, word);
    },
    dim: (text) => paint('dim', text),
  };
}

/** Plain JSON of SDK records: bytes as base64 (the proto3 JSON mapping), instants as ISO 8601. */
export function toJsonValue(value: unknown): unknown {
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(toJsonValue);
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toJsonValue(v);
    return out;
  }
  return value;
}

export interface Column {
  readonly header: string;
  /** Colours the (already padded) cell; the width is measured on the plain text. */
  readonly paint?: (padded: string, plain: string) => string;
}

/** Aligns rows under their headers, two spaces apart; the last column is not padded. */
export function renderTable(columns: readonly Column[], rows: readonly (readonly string[])[], out: Output): string[] {
  const widths = columns.map((c, i) => Math.max(c.header.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[], header: boolean): string =>
    cells
      .map((cell, i) => {
        const padded = i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0);
        const paint = columns[i]?.paint;
        return header ? out.dim(padded) : paint === undefined ? padded : paint(padded, cell);
      })
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header), true), ...rows.map((r) => line(r, false))];
}

/** A column whose words are states, coloured as such. */
export function stateColumn(header: string, out: Output): Column {
  return { header, paint: (padded, plain) => out.state(plain) + padded.slice(plain.length) };
}

/** `+1234ms` from `origin`, or '-'. */
export function offsetMs(at: Date | undefined, origin: Date | undefined): string {
  if (at === undefined || origin === undefined) return '-';
  return `+${at.getTime() - origin.getTime()}ms`;
}

export function isoOrDash(at: Date | undefined): string {
  return at === undefined ? '-' : at.toISOString();
}
