// What the console tests share: a coordinator (no NATS) with the console on an
// ephemeral port and an operator token, the scripted participant, and calls of the
// console API as a browser makes them.

import { closedAfterEach, type EventsFixture } from '../events/events-fixture.js';

export const OPERATOR_TOKEN = 'console-test-operator-token';

export interface ConsoleFixture extends EventsFixture {
  /** http://127.0.0.1:port of the console. */
  readonly consoleUrl: string;
  /** The API's answer: status, JSON body and headers. */
  api(path: string, init?: { method?: string; token?: string; body?: unknown; contentType?: string }): Promise<ApiAnswer>;
}

export interface ApiAnswer {
  readonly status: number;
  readonly body: any;
  readonly headers: Headers;
}

/** For a test file: starts console fixtures (config: the coordinator's config file; env: more variables), each closed after its test. */
export function consoleFixtures(): (name: string, config?: Record<string, unknown>, env?: Record<string, string>) => Promise<ConsoleFixture> {
  const start = closedAfterEach();
  return async (name, config, env = {}) => {
    const fx = await start(name, { nats: false, config, env: { ...env, SAGA_CONSOLE_LISTEN: '127.0.0.1:0', SAGA_OPERATOR_TOKEN: OPERATOR_TOKEN } });
    // The console binds port 0: its address is the running coordinator's (a new one after a restart).
    const consoleUrl = (): string => `http://${fx.coordinator.endpoint('console')}`;
    const withConsole = Object.defineProperty(fx, 'consoleUrl', { get: consoleUrl, enumerable: true }) as EventsFixture & { readonly consoleUrl: string };
    return Object.assign(withConsole, {
      async api(path: string, init: { method?: string; token?: string; body?: unknown; contentType?: string } = {}): Promise<ApiAnswer> {
        const headers: Record<string, string> = {};
        if (init.token !== undefined) headers.authorization = `Bearer ${init.token}`;
        if (init.body !== undefined) headers['content-type'] = init.contentType ?? 'application/json';
        const res = await fetch(`${consoleUrl()}${path}`, {
          method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
          headers,
          body: init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body),
          signal: AbortSignal.timeout(15_000),
        });
        const text = await res.text();
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // Not JSON (static files).
        }
        return { status: res.status, body, headers: res.headers };
      },
    });
  };
}
