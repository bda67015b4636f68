// Follows a listing's pages until a command's --limit: asks for one item more
// than it keeps, so it knows whether there are more.

/** A listing RPC: one page of at most `pageSize` items from `pageToken` ('' = the first). */
export type PageFetch<T> = (pageSize: number, pageToken: string) => Promise<{ readonly items: readonly T[]; readonly nextPageToken: string }>;

export async function collectUpTo<T>(fetch: PageFetch<T>, limit: number, maxPage: number): Promise<{ items: T[]; more: boolean }> {
  const items: T[] = [];
  let pageToken = '';
  do {
    const page = await fetch(Math.min(maxPage, limit - items.length + 1), pageToken);
    items.push(...page.items);
    pageToken = page.nextPageToken;
  } while (pageToken !== '' && items.length <= limit);
  return { items: items.slice(0, limit), more: items.length > limit || pageToken !== '' };
}
