import { describe, expect, it } from 'vitest';
import { layoutDag } from './dag-layout';

describe('layoutDag', () => {
  it('puts a sequence in one row, one column per step', () => {
    const l = layoutDag([
      { name: 'a', dependsOn: [] },
      { name: 'b', dependsOn: ['a'] },
      { name: 'c', dependsOn: ['b'] },
    ]);
    expect(l.nodes.map((n) => [n.name, n.column, n.row])).toEqual([
      ['a', 0, 0],
      ['b', 1, 0],
      ['c', 2, 0],
    ]);
    expect(l.edges).toEqual([
      { from: 'a', to: 'b' },
      { from: 'b', to: 'c' },
    ]);
    expect([l.columns, l.rows]).toEqual([3, 1]);
  });

  it('places a step after the deepest of its dependencies and stacks parallel steps', () => {
    const l = layoutDag([
      { name: 'order', dependsOn: [] },
      { name: 'stock', dependsOn: ['order'] },
      { name: 'pay', dependsOn: ['order'] },
      { name: 'ship', dependsOn: ['stock', 'pay'] },
      { name: 'notify', dependsOn: ['order', 'ship'] },
    ]);
    const at = Object.fromEntries(l.nodes.map((n) => [n.name, [n.column, n.row]]));
    expect(at).toEqual({ order: [0, 0], stock: [1, 0], pay: [1, 1], ship: [2, 0], notify: [3, 0] });
    expect([l.columns, l.rows]).toEqual([4, 2]);
  });

  it('ends on a cycle and ignores unknown dependencies', () => {
    const l = layoutDag([
      { name: 'a', dependsOn: ['b', 'ghost'] },
      { name: 'b', dependsOn: ['a'] },
    ]);
    expect(l.nodes).toHaveLength(2);
    expect(l.edges).toEqual([
      { from: 'b', to: 'a' },
      { from: 'a', to: 'b' },
    ]);
  });
});
