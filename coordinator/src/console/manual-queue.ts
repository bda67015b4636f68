// The MANUAL queue: sagas waiting for an operator, the longest waiting first,
// with the step each is stuck on. The store lists newest first, so the queue
// reads every MANUAL saga (bounded) and orders them by when they entered MANUAL.

import type { ListSagasFilter, SagaSummary, SagaView } from '../domain/saga-types.js';
import type { ListSagasPage } from '../store/store.js';
import { FieldError } from './http-status-map.js';
import { stuckStep } from './saga-json.js';

/** MANUAL sagas read at most per request; beyond it the queue says it is truncated. */
export const MANUAL_QUEUE_LIMIT = 10_000;

export interface ManualEntry extends SagaSummary {
  /** When it entered MANUAL (its last change). */
  readonly waitingSince: number;
  readonly stuckStep: string;
}

export interface ManualQueuePage {
  readonly total: number;
  readonly truncated: boolean;
  readonly entries: readonly ManualEntry[];
  readonly nextPageToken: string;
}

export interface ManualQueueSources {
  listSagas(filter: ListSagasFilter): Promise<ListSagasPage>;
  getSaga(id: string): Promise<SagaView>;
}

export async function manualQueue(src: ManualQueueSources, page: { pageSize: number; pageToken: string }): Promise<ManualQueuePage> {
  const offset = page.pageToken === '' ? 0 : Number(page.pageToken);
  if (!/^\d{0,9}$/.test(page.pageToken) || !Number.isSafeInteger(offset)) throw new FieldError('pageToken', 'is not a token from this API');
  const all: SagaSummary[] = [];
  let token = '';
  do {
    const batch = await src.listSagas({ states: ['MANUAL'], name: '', createdAfter: undefined, createdBefore: undefined, pageSize: 1000, pageToken: token });
    all.push(...batch.sagas);
    token = batch.nextPageToken;
  } while (token !== '' && all.length < MANUAL_QUEUE_LIMIT);
  all.sort((a, b) => a.updatedAt - b.updatedAt || a.createdAt - b.createdAt);
  const slice = all.slice(offset, offset + page.pageSize);
  const entries = await Promise.all(
    slice.map(async (s) => {
      const view = await src.getSaga(s.sagaId).catch(() => undefined);
      return { ...s, waitingSince: s.updatedAt, stuckStep: view === undefined ? s.failedStep : stuckStep(view) };
    }),
  );
  const next = offset + page.pageSize;
  return { total: all.length, truncated: token !== '', entries, nextPageToken: next < all.length ? String(next) : '' };
}
