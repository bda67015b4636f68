// The latency curve as an SVG picture, drawn by Vega-Lite (compiled to a Vega
// spec and rendered headless by Vega's SVG string renderer: no browser, no
// canvas). Three panels over the offered load in % of capacity: latency
// percentiles (log scale) with issue 14's targets marked, CPU per saga (all
// threads, main thread) with the saturated figure, and the share shed.

import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export interface CurvePoint {
  /** Offered load in % of the capacity measured closed-loop. */
  readonly pct: number;
  readonly offered: number;
  readonly completed: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly shedPct: number;
  readonly cpuMs: number;
  readonly mainMs: number;
}

export interface CurveLabels {
  readonly title: string;
  /** Lines under the title. */
  readonly subtitle: readonly string[];
  readonly saturatedCpuMs: number;
  readonly saturatedMainMs: number;
}

const WIDTH = 620;
const X = { field: 'pct', type: 'quantitative', title: 'offered load, % of the capacity measured closed-loop', scale: { domain: [0, 100] } } as const;

export function curveSpec(points: readonly CurvePoint[], labels: CurveLabels): TopLevelSpec {
  const latency = points.flatMap((p) =>
    (['p50', 'p95', 'p99'] as const).map((q) => ({ pct: p.pct, percentile: q, ms: Math.max(0.1, p[q]) })),
  );
  const targets = [
    { pct: 50, ms: 50, label: 'target: p99 ≤ 50 ms at 50 %' },
    { pct: 80, ms: 100, label: 'target: p99 ≤ 100 ms at 80 %' },
  ];
  const cpu = points.flatMap((p) => [
    { pct: p.pct, thread: 'coordinator, all threads', ms: p.cpuMs },
    { pct: p.pct, thread: 'main thread', ms: p.mainMs },
  ]);
  const saturated = [
    { ms: labels.saturatedCpuMs, label: `saturated (closed loop): ${labels.saturatedCpuMs.toFixed(3)} ms` },
    { ms: labels.saturatedCpuMs * 1.3, label: 'target at 50 %: ≤ 1.3 × saturated' },
  ];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: labels.title, subtitle: [...labels.subtitle], anchor: 'start' },
    background: 'white',
    config: { font: 'sans-serif' },
    // Each panel its own colours and legend.
    resolve: { scale: { color: 'independent' }, legend: { color: 'independent' } },
    vconcat: [
      {
        width: WIDTH,
        height: 300,
        layer: [
          {
            data: { values: latency },
            mark: { type: 'line', point: true },
            encoding: {
              x: X,
              y: { field: 'ms', type: 'quantitative', title: 'saga latency, ms (log scale)', scale: { type: 'log' } },
              color: { field: 'percentile', type: 'nominal', title: 'percentile' },
            },
          },
          {
            data: { values: targets },
            mark: { type: 'point', shape: 'triangle-down', size: 140, filled: true, color: 'black' },
            encoding: { x: X, y: { field: 'ms', type: 'quantitative' } },
          },
          {
            data: { values: targets },
            mark: { type: 'text', align: 'left', dx: 9, dy: -6, fontSize: 10 },
            encoding: { x: X, y: { field: 'ms', type: 'quantitative' }, text: { field: 'label' } },
          },
        ],
      },
      {
        width: WIDTH,
        height: 180,
        layer: [
          {
            data: { values: cpu },
            mark: { type: 'line', point: true },
            encoding: {
              x: X,
              y: { field: 'ms', type: 'quantitative', title: 'coordinator CPU per saga, ms', scale: { zero: true } },
              color: { field: 'thread', type: 'nominal', title: 'CPU of' },
            },
          },
          {
            data: { values: saturated },
            mark: { type: 'rule', strokeDash: [4, 4], color: 'gray' },
            encoding: { y: { field: 'ms', type: 'quantitative' } },
          },
          {
            data: { values: saturated },
            mark: { type: 'text', align: 'left', x: 4, dy: -6, fontSize: 10, color: 'gray' },
            encoding: { y: { field: 'ms', type: 'quantitative' }, text: { field: 'label' } },
          },
        ],
      },
      {
        width: WIDTH,
        height: 110,
        data: { values: points.map((p) => ({ pct: p.pct, shed: p.shedPct })) },
        mark: { type: 'bar', width: 10, color: '#c44' },
        encoding: {
          x: X,
          y: { field: 'shed', type: 'quantitative', title: 'shed, % of starts', scale: { domain: [0, Math.max(0.5, ...points.map((p) => p.shedPct))] } },
        },
      },
    ],
  } as TopLevelSpec;
}

/** Renders the curve to an SVG document. */
export async function plotCurve(points: readonly CurvePoint[], labels: CurveLabels): Promise<string> {
  const view = new View(parse(compile(curveSpec(points, labels)).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
