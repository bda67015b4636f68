// Scrape-time gauges: load shedding (the refusal counter and the shedding
// state) and the sagas in flight, of which parked.

import { describe, expect, it } from 'vitest';
import { CoordinatorMetrics } from './coordinator-metrics.js';

function sample(text: string, name: string): string | undefined {
  return text.split('\n').find((l) => l.startsWith(`${name} `))?.split(' ')[1];
}

describe('CoordinatorMetrics load shedding', () => {
  it('counts refused sagas and reads the shedding state at each scrape', async () => {
    const metrics = new CoordinatorMetrics({ processMetrics: false });
    let shedding = false;
    metrics.bindAdmission(() => shedding);
    let text = await metrics.exposition();
    expect(sample(text, 'saga_sagas_shed_total')).toBe('0');
    expect(sample(text, 'saga_admission_shedding')).toBe('0');
    shedding = true;
    metrics.sagasShed.inc();
    metrics.sagasShed.inc();
    text = await metrics.exposition();
    expect(sample(text, 'saga_sagas_shed_total')).toBe('2');
    expect(sample(text, 'saga_admission_shedding')).toBe('1');
    shedding = false;
    expect(sample(await metrics.exposition(), 'saga_admission_shedding')).toBe('0');
  });
});

describe('CoordinatorMetrics saga gauges', () => {
  it('reads the sagas in flight and the parked ones at each scrape', async () => {
    const metrics = new CoordinatorMetrics({ processMetrics: false });
    const counts = { active: 7, parked: 5 };
    metrics.bindSources({
      activeSagas: () => counts.active,
      parkedSagas: () => counts.parked,
      manualSagas: () => 0,
      outboxBacklog: () => Promise.resolve({ unsent: 0, oldestCreatedAt: undefined }),
      deadLetters: () => Promise.resolve(0),
      compensationSuccessRatio: () => undefined,
      now: () => 0,
    });
    let text = await metrics.exposition();
    expect(sample(text, 'saga_sagas_in_flight')).toBe('7');
    expect(sample(text, 'saga_sagas_parked')).toBe('5');
    counts.parked = 0;
    text = await metrics.exposition();
    expect(sample(text, 'saga_sagas_parked')).toBe('0');
  });
});
