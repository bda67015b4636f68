// Hash routes (#/sagas?state=MANUAL, #/saga/<id>, #/manual, #/messages,
// #/health): the server serves one page, and every view has a link.

import { useEffect, useState } from 'preact/hooks';

export interface Route {
  readonly page: 'sagas' | 'saga' | 'manual' | 'messages' | 'health';
  readonly id: string;
  readonly query: URLSearchParams;
}

export function parseRoute(hash: string): Route {
  const raw = hash.replace(/^#\/?/, '');
  const q = raw.indexOf('?');
  const path = q >= 0 ? raw.slice(0, q) : raw;
  const query = new URLSearchParams(q >= 0 ? raw.slice(q + 1) : '');
  const [head, ...rest] = path.split('/');
  if (head === 'saga' && rest.length > 0) return { page: 'saga', id: decodeURIComponent(rest.join('/')), query };
  if (head === 'manual' || head === 'messages' || head === 'health') return { page: head, id: '', query };
  return { page: 'sagas', id: '', query };
}

export function sagaHref(id: string): string {
  return `#/saga/${encodeURIComponent(id)}`;
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const onChange = (): void => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}
