// The `participantTransport` section: defaults < JSON file < environment, and
// validation errors that name the setting.

import { describe, expect, it } from 'vitest';
import { DEFAULT_PARTICIPANT_TRANSPORT } from '../grpc/participant-transport-settings.js';
import { settingOf, withConfigFile } from './config-test-support.js';
import { loadConfig } from './config.js';

describe('participantTransport configuration', () => {
  it('defaults to the lean channel, pinging only with calls in flight every 5 min', () => {
    const c = loadConfig([], {});
    expect(c.participantTransport).toEqual(DEFAULT_PARTICIPANT_TRANSPORT);
    expect(c.participantTransport).toMatchObject({ implementation: 'http2', keepaliveMs: 300_000 });
  });

  it('takes the file over the defaults and SAGA_PARTICIPANT_TRANSPORT over the file', () => {
    withConfigFile({ participantTransport: { implementation: 'grpc-js', connectTimeoutMs: 2000 } }, (path) => {
      expect(loadConfig(['--config', path], {}).participantTransport).toMatchObject({ implementation: 'grpc-js', connectTimeoutMs: 2000, keepaliveMs: 300_000 });
      expect(loadConfig(['--config', path], { SAGA_PARTICIPANT_TRANSPORT: 'http2' }).participantTransport.implementation).toBe('http2');
    });
  });

  it('names the setting that is wrong', () => {
    expect(settingOf(() => loadConfig([], { SAGA_PARTICIPANT_TRANSPORT: 'grpc' }))).toBe('participantTransport.implementation');
    withConfigFile({ participantTransport: { maxStreamsPerConnection: 0 } }, (path) => {
      expect(settingOf(() => loadConfig(['--config', path], {}))).toBe('participantTransport.maxStreamsPerConnection');
    });
    withConfigFile({ participantTransport: { keepaliveMs: 1.5 } }, (path) => {
      expect(settingOf(() => loadConfig(['--config', path], {}))).toBe('participantTransport.keepaliveMs');
    });
    withConfigFile({ participantTransport: { initialReconnectBackoffMs: 5000, maxReconnectBackoffMs: 1000 } }, (path) => {
      expect(settingOf(() => loadConfig(['--config', path], {}))).toBe('participantTransport.maxReconnectBackoffMs');
    });
  });
});
