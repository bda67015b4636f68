// The console section of the configuration: off by default, SAGA_CONSOLE_LISTEN
// over the file, and errors that name the setting.

import { describe, expect, it } from 'vitest';
import { settingOf, withConfigFile } from '../config/config-test-support.js';
import { loadConfig } from '../config/config.js';

describe('console configuration', () => {
  it('is off by default and listens where the file or the environment says', () => {
    expect(loadConfig([], {}).console).toEqual({ listen: '', assetsDir: '', maxStreams: 64 });
    withConfigFile({ console: { listen: '0.0.0.0:8080', maxStreams: 8 } }, (path) => {
      expect(loadConfig(['--config', path], {}).console).toEqual({ listen: '0.0.0.0:8080', assetsDir: '', maxStreams: 8 });
      const c = loadConfig(['--config', path], { SAGA_CONSOLE_LISTEN: '127.0.0.1:0', SAGA_CONSOLE_ASSETS_DIR: '/opt/console' });
      expect(c.console).toEqual({ listen: '127.0.0.1:0', assetsDir: '/opt/console', maxStreams: 8 });
      expect(loadConfig(['--config', path], { SAGA_CONSOLE_LISTEN: '' }).console.listen).toBe('');
    });
  });

  it('names the setting that is wrong', () => {
    expect(settingOf(() => loadConfig([], { SAGA_CONSOLE_LISTEN: 'everywhere' }))).toBe('console.listen');
    withConfigFile({ console: { maxStreams: 0 } }, (path) => {
      expect(settingOf(() => loadConfig(['--config', path], {}))).toBe('console.maxStreams');
    });
    withConfigFile({ console: { assetsDir: 7 } }, (path) => {
      expect(settingOf(() => loadConfig(['--config', path], {}))).toBe('console.assetsDir');
    });
  });
});
