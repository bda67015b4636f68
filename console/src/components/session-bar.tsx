// Sign in with a token (kept in memory only: a reload signs out) and see the roles it grants.

import { useState } from 'preact/hooks';
import { errorText } from '../api';
import { useSession } from '../session';

export function SessionBar() {
  const s = useSession();
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const submit = (e: Event): void => {
    e.preventDefault();
    s.signIn(token).then(
      () => {
        setToken('');
        setError(undefined);
      },
      (err: unknown) => setError(`token not accepted: ${errorText(err)}`),
    );
  };
  const roles = s.session?.roles ?? [];
  return (
    <div class="session">
      <span class="roles" data-testid="roles">
        {roles.length === 0 ? 'no access' : `roles: ${roles.join(', ')}`}
      </span>
      {s.signedIn ? (
        <button type="button" onClick={s.signOut}>
          Sign out
        </button>
      ) : (
        <form onSubmit={submit} class="row">
          <label for="token-input" class="sr-only">
            Access token
          </label>
          <input id="token-input" type="password" autocomplete="off" placeholder="access token" value={token} onInput={(e) => setToken((e.target as HTMLInputElement).value)} />
          <button type="submit" disabled={token === ''}>
            Sign in
          </button>
        </form>
      )}
      {(error ?? s.error) !== undefined && (
        <span role="alert" class="error">
          {error ?? s.error}
        </span>
      )}
    </div>
  );
}
