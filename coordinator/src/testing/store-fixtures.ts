// Stores for the coordinator's own tests, on each backend: a SQLite file in a
// temp dir, or a fresh database of a PostgreSQL cluster the test file starts
// (beforeAll) and stops (afterAll). Stores opened here are closed, and temp
// dirs removed, after each test. Not used by the coordinator itself.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { PostgresStore } from '../store/postgres/postgres-store.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import type { Store } from '../store/store.js';
import { startPostgresCluster, type PostgresCluster } from './postgres-cluster.js';

export type StoreBackend = 'sqlite' | 'postgres';
export const STORE_BACKENDS: readonly StoreBackend[] = ['sqlite', 'postgres'];

export interface StoreFixtures {
  /** A fresh, empty store location named after `name`: a SQLite file path or a postgres:// URL. */
  location(backend: StoreBackend, name: string): Promise<string>;
  /** A store (not open) on `location`. */
  create(location: string): Store;
  /** A store opened on `location` (again after a close: a restart), closed after the test. */
  open(location: string): Promise<Store>;
  /** Closes `store` after the test too (a store the test opened itself). */
  track<S extends Store>(store: S): S;
  /** Stops closing `store` after the test (the test closed it). */
  forget(store: Store): void;
}

/** Call at the top of a test file. */
export function useStoreFixtures(options: { sqliteSynchronous?: 'FULL' | 'NORMAL' | 'OFF' } = {}): StoreFixtures {
  let cluster: PostgresCluster | undefined;
  const dirs: string[] = [];
  const stores: Store[] = [];
  beforeAll(async () => {
    cluster = await startPostgresCluster();
  });
  afterAll(async () => {
    await cluster?.stop();
  });
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const create = (location: string): Store =>
    location.startsWith('postgres://')
      ? new PostgresStore({ url: location })
      : new SqliteStore({ path: location, synchronous: options.sqliteSynchronous ?? 'NORMAL' });
  return {
    location: (backend, name) => {
      if (backend === 'postgres') {
        if (cluster === undefined) throw new Error('useStoreFixtures: the cluster starts in beforeAll');
        return cluster.createDatabase(name);
      }
      const dir = mkdtempSync(join(tmpdir(), `store-${name.replace(/[^a-z0-9]+/gi, '-')}-`));
      dirs.push(dir);
      return Promise.resolve(join(dir, 'coordinator.db'));
    },
    create,
    open: async (location) => {
      const store = create(location);
      await store.open();
      stores.push(store);
      return store;
    },
    track: (store) => {
      stores.push(store);
      return store;
    },
    forget: (store) => {
      const i = stores.indexOf(store);
      if (i >= 0) stores.splice(i, 1);
    },
  };
}
