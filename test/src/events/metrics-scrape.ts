// Scrapes the coordinator's Prometheus endpoint and reads sample values.

export interface Scrape {
  /** The sample's value, or undefined when the series is absent. */
  value(name: string, labels?: Readonly<Record<string, string>>): number | undefined;
  /** The sum over every series of the metric. */
  sum(name: string): number;
  readonly text: string;
}

export async function scrape(address: string): Promise<Scrape> {
  const res = await fetch(`http://${address}/metrics`, { signal: AbortSignal.timeout(5000) });
  if (res.status !== 200) throw new Error(`GET /metrics answered ${res.status}`);
  const text = await res.text();
  const samples: { name: string; labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1] ?? ''] = l[2] ?? '';
    samples.push({ name: m[1] ?? '', labels, value: Number(m[3]) });
  }
  return {
    text,
    sum: (name) => samples.filter((s) => s.name === name).reduce((acc, s) => acc + s.value, 0),
    value: (name, want = {}) =>
      samples.find((s) => s.name === name && Object.keys(s.labels).length === Object.keys(want).length && Object.entries(want).every(([k, v]) => s.labels[k] === v))
        ?.value,
  };
}
