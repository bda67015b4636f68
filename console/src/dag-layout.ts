// Lays out a saga's step graph in columns: a step's column is one more than the
// deepest of the steps it depends on; steps of a column stack in definition order.

export interface LaidOutNode {
  readonly name: string;
  readonly column: number;
  readonly row: number;
}

export interface Layout {
  readonly nodes: readonly LaidOutNode[];
  readonly edges: readonly { readonly from: string; readonly to: string }[];
  readonly columns: number;
  readonly rows: number;
}

export function layoutDag(steps: readonly { name: string; dependsOn: readonly string[] }[]): Layout {
  const byName = new Map(steps.map((s) => [s.name, s]));
  const column = new Map<string, number>();
  const visiting = new Set<string>();
  const depth = (name: string): number => {
    const known = column.get(name);
    if (known !== undefined) return known;
    // Definitions are validated acyclic; a cycle here still ends (at column 0).
    if (visiting.has(name)) return 0;
    visiting.add(name);
    const deps = (byName.get(name)?.dependsOn ?? []).filter((d) => byName.has(d));
    const c = deps.length === 0 ? 0 : Math.max(...deps.map(depth)) + 1;
    visiting.delete(name);
    column.set(name, c);
    return c;
  };
  const perColumn = new Map<number, number>();
  const nodes = steps.map((s) => {
    const c = depth(s.name);
    const row = perColumn.get(c) ?? 0;
    perColumn.set(c, row + 1);
    return { name: s.name, column: c, row };
  });
  const edges = steps.flatMap((s) => s.dependsOn.filter((d) => byName.has(d)).map((d) => ({ from: d, to: s.name })));
  return { nodes, edges, columns: Math.max(0, ...nodes.map((n) => n.column + 1)), rows: Math.max(0, ...perColumn.values()) };
}
