// The saga's step graph (its DAG; a sequence is a chain), each step coloured by
// how it stands.

import type { Step } from '../api-types';
import { layoutDag } from '../dag-layout';
import { STEP_LOOKS, stepLook } from '../step-look';

const W = 150;
const H = 44;
const GAP_X = 50;
const GAP_Y = 20;

export function StepGraph({ steps }: { steps: readonly Step[] }) {
  const layout = layoutDag(steps);
  const pos = new Map(layout.nodes.map((n) => [n.name, { x: n.column * (W + GAP_X) + 10, y: n.row * (H + GAP_Y) + 10 }]));
  const width = layout.columns * (W + GAP_X) - GAP_X + 20;
  const height = layout.rows * (H + GAP_Y) - GAP_Y + 20;
  const byName = new Map(steps.map((s) => [s.name, s]));
  const summary = steps.map((s) => `${s.name}: ${stepLook(s)}`).join(', ');
  return (
    <figure class="graph">
      <div class="scroll-x">
        <svg viewBox={`0 0 ${Math.max(width, 1)} ${Math.max(height, 1)}`} width={width} height={height} role="img" aria-label={`Step graph. ${summary}`}>
          <defs>
            <marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
              <path d="M 0 0 L 10 5 L 0 10 z" class="edge-head" />
            </marker>
          </defs>
          {layout.edges.map((e) => {
            const a = pos.get(e.from);
            const b = pos.get(e.to);
            if (a === undefined || b === undefined) return null;
            return <path key={`${e.from}->${e.to}`} class="edge" d={`M ${a.x + W} ${a.y + H / 2} C ${a.x + W + GAP_X / 2} ${a.y + H / 2}, ${b.x - GAP_X / 2} ${b.y + H / 2}, ${b.x} ${b.y + H / 2}`} marker-end="url(#arrow)" />;
          })}
          {layout.nodes.map((n) => {
            const p = pos.get(n.name);
            const s = byName.get(n.name);
            if (p === undefined || s === undefined) return null;
            const look = stepLook(s);
            return (
              <g key={n.name} class={`node look-${look}`} data-step={n.name} data-look={look}>
                <title>{`${s.name} (${s.participant}): execute ${s.executeStatus}, compensate ${s.compensateStatus}`}</title>
                <rect x={p.x} y={p.y} width={W} height={H} rx={6} />
                <text x={p.x + W / 2} y={p.y + 18} text-anchor="middle" class="node-name">
                  {s.name.length > 20 ? `${s.name.slice(0, 19)}…` : s.name}
                </text>
                <text x={p.x + W / 2} y={p.y + 34} text-anchor="middle" class="node-look">
                  {look}
                </text>
              </g>
            );
          })}
        </svg>
      </div>
      <figcaption class="legend">
        {STEP_LOOKS.map((l) => (
          <span key={l} class={`legend-item look-${l}`}>
            <span class="swatch" aria-hidden="true" />
            {l}
          </span>
        ))}
      </figcaption>
    </figure>
  );
}
