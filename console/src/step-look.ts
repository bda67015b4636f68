// One word for how a step stands, from its execute and compensate statuses:
// it picks the colour in the graph and reads in the legend.

import type { Step } from './api-types';

export type StepLook = 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped' | 'compensating' | 'compensated' | 'compensation-failed';

export const STEP_LOOKS: readonly StepLook[] = ['pending', 'running', 'succeeded', 'failed', 'skipped', 'compensating', 'compensated', 'compensation-failed'];

export function stepLook(s: Pick<Step, 'executeStatus' | 'compensateStatus'>): StepLook {
  if (s.compensateStatus === 'FAILED') return 'compensation-failed';
  if (s.compensateStatus === 'RUNNING') return 'compensating';
  if (s.compensateStatus === 'SUCCEEDED') return 'compensated';
  switch (s.executeStatus) {
    case 'RUNNING':
      return 'running';
    case 'SUCCEEDED':
      return 'succeeded';
    case 'FAILED':
      return 'failed';
    case 'SKIPPED':
      return 'skipped';
    default:
      return 'pending';
  }
}
