// Calls to the console API. The token lives in this module's memory only (not
// localStorage, not a cookie) and goes in the Authorization header, which is
// also what makes the API safe from cross-site requests.

let token: string | undefined;

export function setToken(value: string | undefined): void {
  token = value === '' ? undefined : value;
}

export function hasToken(): boolean {
  return token !== undefined;
}

export function authHeaders(): Record<string, string> {
  return token === undefined ? {} : { authorization: `Bearer ${token}` };
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field: string | undefined,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

async function call<T>(path: string, init: RequestInit): Promise<T> {
  const res = await fetch(path, { ...init, headers: { ...authHeaders(), ...(init.headers as Record<string, string> | undefined) } });
  const body = (await res.json().catch(() => undefined)) as { error?: { code: string; message: string; field?: string } } | undefined;
  if (!res.ok) {
    throw new ApiError(res.status, body?.error?.code ?? `HTTP_${res.status}`, body?.error?.message ?? res.statusText, body?.error?.field);
  }
  return body as T;
}

export function get<T>(path: string, signal?: AbortSignal): Promise<T> {
  return call<T>(path, { method: 'GET', signal });
}

export function post<T>(path: string, body: Record<string, unknown>): Promise<T> {
  return call<T>(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

/** "/api/sagas?x=1" from a path and the non-empty parameters. */
export function withQuery(path: string, params: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, v);
  const s = q.toString();
  return s === '' ? path : `${path}?${s}`;
}

export function errorText(err: unknown): string {
  if (err instanceof ApiError) return `${err.message} (${err.status} ${err.code})`;
  return err instanceof Error ? err.message : String(err);
}
