// The `messages` configuration section: defaults, environment overrides,
// validation naming the setting, and the subjects messages may use.

import { describe, expect, it } from 'vitest';
import { settingOf, withConfigFile } from '../config/config-test-support.js';
import { DEFAULT_CONFIG, loadConfig } from '../config/config.js';
import { allowedMessageSubjects } from './message-settings.js';

describe('messages configuration', () => {
  it('defaults to the source material check policy: after 6 s, every 30 s, 15 checks', () => {
    const c = loadConfig([], {});
    expect(c.messages.defaultCheckPolicy).toEqual({ checkAfterMs: 6000, checkIntervalMs: 30_000, maxChecks: 15, checkTimeoutMs: 5000 });
    expect(c.messages).toEqual(DEFAULT_CONFIG.messages);
  });

  it('takes the check policy from the environment and validates it', () => {
    const c = loadConfig([], { SAGA_MESSAGE_CHECK_AFTER_MS: '1000', SAGA_MESSAGE_CHECK_INTERVAL_MS: '2000', SAGA_MESSAGE_MAX_CHECKS: '3' });
    expect(c.messages.defaultCheckPolicy).toMatchObject({ checkAfterMs: 1000, checkIntervalMs: 2000, maxChecks: 3 });
    expect(settingOf(() => loadConfig([], { SAGA_MESSAGE_CHECK_AFTER_MS: '10' }))).toBe('messages.defaultCheckPolicy.checkAfterMs');
    expect(settingOf(() => loadConfig([], { SAGA_MESSAGE_MAX_CHECKS: '0' }))).toBe('messages.defaultCheckPolicy.maxChecks');
    expect(settingOf(() => loadConfig([], { SAGA_MESSAGE_MAX_CHECKS: 'x' }))).toBe('SAGA_MESSAGE_MAX_CHECKS');
  });

  it('names the setting of an invalid file value', () => {
    withConfigFile({ messages: { subjects: ['orders.>', 'bad subject'] } }, (path) => {
      expect(settingOf(() => loadConfig(['--config', path], {}))).toBe('messages.subjects');
    });
    withConfigFile({ messages: { limits: { maxPayloadBytes: 64 * 1024 * 1024 } } }, (path) => {
      expect(settingOf(() => loadConfig(['--config', path], {}))).toBe('messages.limits.maxPayloadBytes');
    });
    withConfigFile({ messages: { maxConcurrentChecks: 0 } }, (path) => {
      expect(settingOf(() => loadConfig(['--config', path], {}))).toBe('messages.maxConcurrentChecks');
    });
    withConfigFile({ messages: { subjects: ['orders.>'], maxPrepared: 10 } }, (path) => {
      const c = loadConfig(['--config', path], {});
      expect(c.messages.subjects).toEqual(['orders.>']);
      expect(c.messages.maxPrepared).toBe(10);
      expect(c.messages.defaultCheckPolicy.maxChecks).toBe(15);
    });
  });

  it('allows the subjects of messages.subjects, else those of the stream outside the coordinator prefix', () => {
    const m = DEFAULT_CONFIG.messages;
    expect(allowedMessageSubjects(m, [], 'saga')).toEqual([]);
    expect(allowedMessageSubjects(m, ['saga.events.>', 'saga.alerts.>', 'orders.>', 'stock.*.changed'], 'saga')).toEqual(['orders.>', 'stock.*.changed']);
    expect(allowedMessageSubjects({ ...m, subjects: ['payments.>'] }, ['orders.>'], 'saga')).toEqual(['payments.>']);
  });
});
