import { describe, expect, it } from 'vitest';
import { loadParticipantConfig } from './participant-config.js';

describe('loadParticipantConfig', () => {
  it('reads the protocol variables with their defaults', () => {
    expect(loadParticipantConfig({ PARTICIPANT_SERVICE: 'stock', PARTICIPANT_DB: '/tmp/s.db' }, [])).toEqual({
      service: 'stock',
      host: '127.0.0.1',
      port: 0,
      dbPath: '/tmp/s.db',
      seed: {},
    });
    expect(
      loadParticipantConfig(
        { PARTICIPANT_DB: 'p.db', PARTICIPANT_HOST: '0.0.0.0', PARTICIPANT_PORT: '7001', PARTICIPANT_SEED: '{"points":{"user-1":100}}' },
        ['points'],
      ),
    ).toEqual({ service: 'points', host: '0.0.0.0', port: 7001, dbPath: 'p.db', seed: { points: { 'user-1': 100 } } });
  });

  it('names the variable that is wrong', () => {
    expect(() => loadParticipantConfig({ PARTICIPANT_DB: 'x' }, ['payments'])).toThrow(/PARTICIPANT_SERVICE/);
    expect(() => loadParticipantConfig({ PARTICIPANT_SERVICE: 'stock' }, [])).toThrow(/PARTICIPANT_DB/);
    expect(() => loadParticipantConfig({ PARTICIPANT_SERVICE: 'stock', PARTICIPANT_DB: 'x', PARTICIPANT_PORT: '-1' }, [])).toThrow(
      /PARTICIPANT_PORT/,
    );
    expect(() => loadParticipantConfig({ PARTICIPANT_SERVICE: 'stock', PARTICIPANT_DB: 'x', PARTICIPANT_SEED: '[1]' }, [])).toThrow(
      /PARTICIPANT_SEED/,
    );
  });
});
