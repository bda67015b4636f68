// Who is signed in: the roles the API grants the token in memory. Pages read
// it to offer or withhold actions (the API checks again).

import { createContext } from 'preact';
import { useCallback, useContext, useEffect, useState } from 'preact/hooks';
import { errorText, get, hasToken, setToken } from './api';
import type { Role, Session } from './api-types';
import { restartLive } from './live-updates';

export interface SessionState {
  readonly session: Session | undefined;
  readonly error: string | undefined;
  readonly signedIn: boolean;
  readonly signIn: (token: string) => Promise<void>;
  readonly signOut: () => void;
  readonly has: (role: Role) => boolean;
}

const SessionContext = createContext<SessionState | undefined>(undefined);

export function useSessionState(): SessionState {
  const [session, setSession] = useState<Session | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [signedIn, setSignedIn] = useState(false);
  const refresh = useCallback(async () => {
    try {
      setSession(await get<Session>('/api/session'));
      setError(undefined);
    } catch (err) {
      setSession(undefined);
      setError(errorText(err));
      throw err;
    }
  }, []);
  useEffect(() => {
    refresh().catch(() => undefined);
  }, [refresh]);
  const signIn = useCallback(
    async (token: string) => {
      setToken(token);
      try {
        await refresh();
        setSignedIn(hasToken());
        restartLive();
      } catch (err) {
        setToken(undefined);
        setSignedIn(false);
        await refresh().catch(() => undefined);
        throw err;
      }
    },
    [refresh],
  );
  const signOut = useCallback(() => {
    setToken(undefined);
    setSignedIn(false);
    restartLive();
    refresh().catch(() => undefined);
  }, [refresh]);
  return {
    session,
    error,
    signedIn,
    signIn,
    signOut,
    has: (role) => session?.roles.includes(role) === true,
  };
}

export const SessionProvider = SessionContext.Provider;

export function useSession(): SessionState {
  const s = useContext(SessionContext);
  if (s === undefined) throw new Error('useSession outside SessionProvider');
  return s;
}

/** Why an action is not offered, or undefined when the viewer may act. */
export function operatorBlock(s: SessionState): string | undefined {
  return s.has('operator') ? undefined : 'Needs the operator role: sign in with an operator token.';
}
