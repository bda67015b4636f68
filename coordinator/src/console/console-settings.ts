// Settings of the web console (its own HTTP port, off by default): defaults,
// the environment override and validation. Each problem names the setting.

export interface ConsoleSettings {
  /** host:port of the console (UI + JSON/SSE API). '' (default) = off; port 0 = ephemeral. */
  readonly listen: string;
  /** Folder of the built front-end (index.html, assets/). '' (default) = console/dist of this installation. */
  readonly assetsDir: string;
  /** Live-update streams open at once at most; more are refused with 503. Default 64. */
  readonly maxStreams: number;
}

export const DEFAULT_CONSOLE_SETTINGS: ConsoleSettings = { listen: '', assetsDir: '', maxStreams: 64 };

/** Applies SAGA_CONSOLE_LISTEN and SAGA_CONSOLE_ASSETS_DIR to the (merged, mutable) settings. */
export function applyConsoleEnv(settings: Record<string, unknown>, env: NodeJS.ProcessEnv): void {
  if (env.SAGA_CONSOLE_LISTEN !== undefined) settings.listen = env.SAGA_CONSOLE_LISTEN;
  if (env.SAGA_CONSOLE_ASSETS_DIR !== undefined) settings.assetsDir = env.SAGA_CONSOLE_ASSETS_DIR;
}

/** The first problem of the settings, or undefined when they are valid. */
export function validateConsoleSettings(s: ConsoleSettings): { setting: string; problem: string } | undefined {
  if (typeof s.listen !== 'string' || (s.listen !== '' && !/^.+:\d{1,5}$/.test(s.listen))) {
    return { setting: 'console.listen', problem: `"${String(s.listen)}" is not host:port (or "" for off)` };
  }
  if (typeof s.assetsDir !== 'string') return { setting: 'console.assetsDir', problem: 'must be a folder path (or "" for the built-in one)' };
  if (typeof s.maxStreams !== 'number' || !Number.isInteger(s.maxStreams) || s.maxStreams < 1) {
    return { setting: 'console.maxStreams', problem: `must be a positive integer, not ${JSON.stringify(s.maxStreams)}` };
  }
  return undefined;
}
