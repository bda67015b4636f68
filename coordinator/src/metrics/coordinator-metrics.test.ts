// Load-shedding metrics: the refusal counter and the scrape-time shedding gauge.

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
