// The ready line a coordinator or test participant prints on stdout:
// {"listening":"host:port"}, with the coordinator's other bound endpoints
// ("metrics", "console") beside it when they are on.

export interface ReadyLine {
  readonly address: string;
  /** Other bound addresses by name. */
  readonly endpoints: Readonly<Record<string, string>>;
}

/** The ready line's addresses, or undefined when `line` is not one. */
export function parseReadyLine(line: string): ReadyLine | undefined {
  if (!line.startsWith('{')) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { listening, ...rest } = parsed as Record<string, unknown>;
  if (typeof listening !== 'string') return undefined;
  const endpoints: Record<string, string> = {};
  for (const [name, value] of Object.entries(rest)) if (typeof value === 'string') endpoints[name] = value;
  return { address: listening, endpoints };
}

/** The address `name` among a ready line's endpoints; throws, naming the process, when the line had none. */
export function endpointOf(endpoints: ReadyLine['endpoints'], processName: string, name: string): string {
  const address = endpoints[name];
  if (address === undefined) throw new Error(`${processName}: its ready line names no ${name} address`);
  return address;
}
