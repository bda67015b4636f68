// Configuration sections of the engine (`admission`, `evictParkedAfterMs`, the commit delay, the instance lease):
// defaults < JSON file < environment, and validation errors that name the setting.

import { describe, expect, it } from 'vitest';
import { settingOf, withConfigFile } from './config-test-support.js';
import { DEFAULT_CONFIG, loadConfig } from './config.js';

describe('admission configuration', () => {
  it('sheds by default, at a 100 ms target over 500 ms intervals', () => {
    const c = loadConfig([], {});
    expect(c.admission).toEqual({ enabled: true, targetDelayMs: 100, intervalMs: 500, targetSagaLatencyMs: 1_000, minInMotion: 256, warmupMs: 10_000 });
    expect(DEFAULT_CONFIG.admission).toEqual(c.admission);
  });

  it('takes the file over the defaults and the environment over the file', () => {
    withConfigFile({ admission: { targetDelayMs: 80 } }, (path) => {
      expect(loadConfig(['--config', path], {}).admission).toMatchObject({ enabled: true, targetDelayMs: 80, intervalMs: 500 });
      const c = loadConfig(['--config', path], {
        SAGA_ADMISSION_ENABLED: 'false',
        SAGA_ADMISSION_TARGET_DELAY_MS: '20',
        SAGA_ADMISSION_INTERVAL_MS: '250',
        SAGA_ADMISSION_TARGET_SAGA_LATENCY_MS: '80',
        SAGA_ADMISSION_MIN_IN_MOTION: '64',
        SAGA_ADMISSION_WARMUP_MS: '0',
      });
      expect(c.admission).toEqual({ enabled: false, targetDelayMs: 20, intervalMs: 250, targetSagaLatencyMs: 80, minInMotion: 64, warmupMs: 0 });
    });
  });

  it('names the setting or variable that is wrong', () => {
    expect(settingOf(() => loadConfig([], { SAGA_ADMISSION_TARGET_DELAY_MS: '0' }))).toBe('admission.targetDelayMs');
    expect(settingOf(() => loadConfig([], { SAGA_ADMISSION_INTERVAL_MS: '2.5' }))).toBe('admission.intervalMs');
    expect(settingOf(() => loadConfig([], { SAGA_ADMISSION_TARGET_SAGA_LATENCY_MS: '0' }))).toBe('admission.targetSagaLatencyMs');
    expect(settingOf(() => loadConfig([], { SAGA_ADMISSION_MIN_IN_MOTION: '-1' }))).toBe('admission.minInMotion');
    expect(settingOf(() => loadConfig([], { SAGA_ADMISSION_WARMUP_MS: '-5' }))).toBe('admission.warmupMs');
    expect(settingOf(() => loadConfig([], { SAGA_ADMISSION_INTERVAL_MS: 'soon' }))).toBe('SAGA_ADMISSION_INTERVAL_MS');
    expect(settingOf(() => loadConfig([], { SAGA_ADMISSION_ENABLED: 'maybe' }))).toBe('SAGA_ADMISSION_ENABLED');
    withConfigFile({ admission: { enabled: 'yes' } }, (path) => {
      expect(settingOf(() => loadConfig(['--config', path], {}))).toBe('admission.enabled');
    });
    withConfigFile({ admission: { intervalMs: -1 } }, (path) => {
      expect(settingOf(() => loadConfig(['--config', path], {}))).toBe('admission.intervalMs');
    });
  });
});

describe('evictParkedAfterMs', () => {
  it('evicts after 1 s by default; the environment overrides it; 0 turns it off', () => {
    expect(loadConfig([], {}).evictParkedAfterMs).toBe(1_000);
    expect(loadConfig([], { SAGA_EVICT_PARKED_AFTER_MS: '0' }).evictParkedAfterMs).toBe(0);
    withConfigFile({ evictParkedAfterMs: 5000 }, (path) => {
      expect(loadConfig(['--config', path], {}).evictParkedAfterMs).toBe(5000);
    });
  });

  it('names the setting when it is not a whole number >= 0', () => {
    expect(settingOf(() => loadConfig([], { SAGA_EVICT_PARKED_AFTER_MS: '-5' }))).toBe('evictParkedAfterMs');
    withConfigFile({ evictParkedAfterMs: 1.5 }, (path) => {
      expect(settingOf(() => loadConfig(['--config', path], {}))).toBe('evictParkedAfterMs');
    });
  });
});

describe('database.commitDelayMs', () => {
  it('is 1 ms by default; SAGA_COMMIT_DELAY_MS and the file override it; 0 turns it off', () => {
    expect(loadConfig([], {}).database.commitDelayMs).toBe(1);
    expect(loadConfig([], { SAGA_COMMIT_DELAY_MS: '0' }).database.commitDelayMs).toBe(0);
    withConfigFile({ database: { commitDelayMs: 3 } }, (path) => {
      expect(loadConfig(['--config', path], {}).database.commitDelayMs).toBe(3);
    });
  });

  it('names the setting when it is not a whole number from 0 to 50', () => {
    for (const bad of ['-1', '0.5', '51']) expect(settingOf(() => loadConfig([], { SAGA_COMMIT_DELAY_MS: bad }))).toBe('database.commitDelayMs');
    expect(settingOf(() => loadConfig([], { SAGA_COMMIT_DELAY_MS: 'soon' }))).toBe('SAGA_COMMIT_DELAY_MS');
  });
});

describe('instance lease (database.postgres)', () => {
  it('lasts 5 s by default, claims every second; SAGA_LEASE_MS and the file override it', () => {
    expect(loadConfig([], {}).database.postgres).toMatchObject({ leaseMs: 5_000, claimIntervalMs: 1_000, claimBatch: 500, instanceRetentionLeases: 10 });
    expect(loadConfig([], { SAGA_LEASE_MS: '2000' }).database.postgres.leaseMs).toBe(2_000);
    withConfigFile({ database: { postgres: { leaseMs: 8000, claimBatch: 50 } } }, (path) => {
      expect(loadConfig(['--config', path], {}).database.postgres).toMatchObject({ leaseMs: 8_000, claimBatch: 50, claimIntervalMs: 1_000 });
    });
  });

  it('names the setting when the lease is under 1 s or a claim or retention setting is not a positive integer', () => {
    expect(settingOf(() => loadConfig([], { SAGA_LEASE_MS: '500' }))).toBe('database.postgres.leaseMs');
    withConfigFile({ database: { postgres: { claimIntervalMs: 0 } } }, (path) => {
      expect(settingOf(() => loadConfig(['--config', path], {}))).toBe('database.postgres.claimIntervalMs');
    });
    withConfigFile({ database: { postgres: { claimBatch: 1.5 } } }, (path) => {
      expect(settingOf(() => loadConfig(['--config', path], {}))).toBe('database.postgres.claimBatch');
    });
    withConfigFile({ database: { postgres: { instanceRetentionLeases: 0 } } }, (path) => {
      expect(settingOf(() => loadConfig(['--config', path], {}))).toBe('database.postgres.instanceRetentionLeases');
    });
  });
});
