// The order of a saga's steps (or a TCC transaction's branches): a chain for a
// sequence, depends_on for a graph. Cached per definition.

import type { SagaDefinition } from '../domain/saga-types.js';

interface StepGraph {
  /** For each step, the steps that must succeed before it runs. */
  readonly requires: readonly (readonly number[])[];
  /** For each step, the steps that must be compensated before it is. */
  readonly dependents: readonly (readonly number[])[];
}

const graphs = new WeakMap<SagaDefinition, StepGraph>();
/** A sequential saga's graph depends only on its number of steps: one per length, shared. */
const sequences = new Map<number, StepGraph>();

/** Sequential sagas chain each step to the previous one; graphs use depends_on. */
export function stepGraph(def: SagaDefinition): StepGraph {
  const cached = def.graph ? graphs.get(def) : sequences.get(def.steps.length);
  if (cached !== undefined) return cached;
  const index = new Map(def.steps.map((s, i) => [s.name, i]));
  const requires = def.steps.map((s, i) =>
    def.graph ? s.dependsOn.map((d) => index.get(d) ?? -1).filter((d) => d >= 0) : i === 0 ? [] : [i - 1],
  );
  const dependents: number[][] = def.steps.map(() => []);
  requires.forEach((reqs, i) => reqs.forEach((r) => dependents[r]?.push(i)));
  const graph = { requires, dependents };
  if (def.graph) graphs.set(def, graph);
  else sequences.set(def.steps.length, graph);
  return graph;
}
