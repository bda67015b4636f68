/**
 * Maps a generated numeric proto enum to the SDK's string union and back, so
 * that the public API never exposes generated enums. Numbers the table does
 * not know (a newer coordinator) decode to the fallback name.
 */
export interface EnumCodec<Name extends string, Proto extends number> {
  toProto(name: Name): Proto;
  fromProto(value: Proto): Name;
  readonly names: readonly Name[];
}

export function enumCodec<Name extends string, Proto extends number>(
  table: Readonly<Record<Name, Proto>>,
  fallback: Name,
): EnumCodec<Name, Proto> {
  const names = Object.keys(table) as Name[];
  const byValue = new Map<number, Name>(names.map((name) => [table[name], name]));
  return {
    names,
    toProto(name) {
      const value = table[name];
      if (value === undefined) throw new TypeError(`unknown value ${JSON.stringify(name)}; expected one of ${names.join(', ')}`);
      return value;
    },
    fromProto(value) {
      return byValue.get(value) ?? fallback;
    },
  };
}
