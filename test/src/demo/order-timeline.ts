// Renders an order's recorded state changes (the orders service's
// order_transitions table) relative to the saga's start.

export interface OrderTransitionRow {
  from_state: string | null;
  to_state: string;
  step: string;
  at: number;
}

export function renderOrderTimeline(orderId: string, rows: readonly OrderTransitionRow[], t0: number): string {
  const lines = [`  order ${orderId}:`];
  for (const r of rows) {
    lines.push(`    +${String(r.at - t0).padStart(5)}ms  ${(r.from_state ?? '—').padEnd(9)} → ${r.to_state.padEnd(17)} (step ${r.step})`);
  }
  return lines.join('\n');
}
