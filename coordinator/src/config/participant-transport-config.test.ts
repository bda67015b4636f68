// The `participantTransport` section: defaults < JSON file < environment, and
// validation errors that name the setting.

import { describe, expect, it } from 'vitest';
import { channelsOnOwnThread, DEFAULT_PARTICIPANT_TRANSPORT } from '../grpc/participant-transport-settings.js';
import { settingOf, withConfigFile } from './config-test-support.js';
import { loadConfig } from './config.js';

describe('participantTransport configuration', () => {
  it('defaults to the lean channel, pinging only with calls in flight every 5 min', () => {
    const c = loadConfig([], {});
    expect(c.participantTransport).toEqual(DEFAULT_PARTICIPANT_TRANSPORT);
    expect(c.participantTransport).toMatchObject({ implementation: 'frames', keepaliveMs: 300_000 });
  });

  it('takes the file over the defaults and SAGA_PARTICIPANT_TRANSPORT over the file', () => {
    withConfigFile({ participantTransport: { implementation: 'grpc-js', connectTimeoutMs: 2000 } }, (path) => {
      expect(loadConfig(['--config', path], {}).participantTransport).toMatchObject({ implementation: 'grpc-js', connectTimeoutMs: 2000, keepaliveMs: 300_000 });
      expect(loadConfig(['--config', path], { SAGA_PARTICIPANT_TRANSPORT: 'http2' }).participantTransport.implementation).toBe('http2');
      expect(loadConfig(['--config', path], { SAGA_PARTICIPANT_TRANSPORT: 'frames' }).participantTransport.implementation).toBe('frames');
    });
  });

  it('runs the channels on their own thread by default where two CPUs are available ("auto"), never for grpc-js', () => {
    const c = loadConfig([], {});
    expect(c.participantTransport.thread).toBe('auto');
    expect(channelsOnOwnThread(c.participantTransport, 2)).toBe(true);
    expect(channelsOnOwnThread(c.participantTransport, 1)).toBe(false);
    const main = loadConfig([], { SAGA_PARTICIPANT_TRANSPORT_THREAD: 'main' }).participantTransport;
    expect(channelsOnOwnThread(main, 8)).toBe(false);
    const worker = loadConfig([], { SAGA_PARTICIPANT_TRANSPORT_THREAD: 'worker' }).participantTransport;
    expect(channelsOnOwnThread(worker, 1)).toBe(true);
    // Both lean channels (node:http2's and our own frames) run on the thread.
    expect(channelsOnOwnThread(loadConfig([], { SAGA_PARTICIPANT_TRANSPORT: 'http2' }).participantTransport, 2)).toBe(true);
    const grpcJs = loadConfig([], { SAGA_PARTICIPANT_TRANSPORT: 'grpc-js' }).participantTransport;
    expect(channelsOnOwnThread(grpcJs, 8)).toBe(false);
    expect(settingOf(() => loadConfig([], { SAGA_PARTICIPANT_TRANSPORT_THREAD: 'both' }))).toBe('participantTransport.thread');
    expect(settingOf(() => loadConfig([], { SAGA_PARTICIPANT_TRANSPORT_THREAD: 'worker', SAGA_PARTICIPANT_TRANSPORT: 'grpc-js' }))).toBe('participantTransport.thread');
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
