// The coordinator's store backends for suites that run against both: SQLite (a
// file in the test dir) and PostgreSQL (a fresh database of a cluster the suite
// starts in beforeAll and stops in afterAll). A store location is what
// startCoordinator takes as `db`: a file path or a postgres:// URL.

import { startPostgresCluster, type PostgresCluster } from '@saga/coordinator/testing';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { scalar } from './sqlite-inspect.js';

export type StoreBackend = 'sqlite' | 'postgres';
export const STORE_BACKENDS: readonly StoreBackend[] = ['sqlite', 'postgres'];

export interface StoreLocations {
  /** A fresh store for `backend`: undefined = the caller's default SQLite file; else a new PostgreSQL database named after `name`. */
  location(backend: StoreBackend, name: string): Promise<string | undefined>;
}

/** Call at the top of a suite: its PostgreSQL cluster lives from beforeAll to afterAll. */
export function useStoreBackends(): StoreLocations {
  let cluster: PostgresCluster | undefined;
  beforeAll(async () => {
    cluster = await startPostgresCluster();
  });
  afterAll(async () => {
    await cluster?.stop();
  });
  return {
    location: (backend, name) => {
      if (backend === 'sqlite') return Promise.resolve(undefined);
      if (cluster === undefined) throw new Error('useStoreBackends: the cluster starts in beforeAll');
      return cluster.createDatabase(name);
    },
  };
}

/** The first column of the first row of `sql` (valid in both dialects) on the coordinator's store. */
export async function storeScalar(location: string, sql: string): Promise<number> {
  if (!location.startsWith('postgres://')) return scalar(location, sql);
  const client = new pg.Client({ connectionString: location });
  await client.connect();
  try {
    const r = await client.query<Record<string, unknown>>(sql);
    const first = r.rows[0];
    return first === undefined ? 0 : Number(Object.values(first)[0] ?? 0);
  } finally {
    await client.end();
  }
}
