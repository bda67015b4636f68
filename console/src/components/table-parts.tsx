// Pieces every list page shares: the error line, a header row, and the
// Previous / Next pager over opaque page tokens.

import { useState } from 'preact/hooks';

export function ErrorLine({ error }: { error: string | undefined }) {
  if (error === undefined) return null;
  return (
    <p role="alert" class="error">
      {error}
    </p>
  );
}

export function HeadRow({ columns }: { columns: readonly string[] }) {
  return (
    <thead>
      <tr>
        {columns.map((c) => (
          <th key={c} scope="col">
            {c}
          </th>
        ))}
      </tr>
    </thead>
  );
}

/** The tokens of the pages visited so far; the last is the page shown. */
export function usePageTokens(): { token: string; page: number; next: (t: string) => void; back: () => void; reset: () => void } {
  const [tokens, setTokens] = useState<string[]>(['']);
  return {
    token: tokens[tokens.length - 1] ?? '',
    page: tokens.length,
    next: (t) => setTokens([...tokens, t]),
    back: () => setTokens(tokens.slice(0, -1)),
    reset: () => setTokens(['']),
  };
}

export function Pager({ pages, nextToken }: { pages: ReturnType<typeof usePageTokens>; nextToken: string | undefined }) {
  return (
    <nav class="row pager" aria-label="Pages">
      <button type="button" disabled={pages.page <= 1} onClick={pages.back}>
        Previous page
      </button>
      <span>Page {pages.page}</span>
      <button type="button" disabled={(nextToken ?? '') === ''} onClick={() => pages.next(nextToken ?? '')}>
        Next page
      </button>
    </nav>
  );
}
