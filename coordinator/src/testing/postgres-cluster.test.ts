// The test PostgreSQL: it starts on a loopback port, gives each caller its own
// database, and stop() leaves neither a server nor its directory behind.

import { existsSync } from 'node:fs';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { startPostgresCluster } from './postgres-cluster.js';

describe('startPostgresCluster', () => {
  it('serves a fresh database per caller and stops without a trace', async () => {
    const cluster = await startPostgresCluster();
    const a = await cluster.createDatabase('cluster test');
    const b = await cluster.createDatabase('cluster test');
    expect(a).not.toBe(b);
    const client = new pg.Client({ connectionString: a });
    await client.connect();
    await client.query('CREATE TABLE t (x int)');
    const other = new pg.Client({ connectionString: b });
    await other.connect();
    const tables = await other.query("SELECT count(*)::int AS n FROM pg_tables WHERE tablename = 't'");
    expect(tables.rows[0]).toEqual({ n: 0 });
    const sync = await client.query<{ synchronous_commit: string }>('SHOW synchronous_commit');
    expect(sync.rows[0]?.synchronous_commit).toBe('on');
    await client.end();
    await other.end();
    await cluster.stop();
    expect(existsSync(cluster.directory)).toBe(false);
    await expect(new pg.Client({ connectionString: a, connectionTimeoutMillis: 2000 }).connect()).rejects.toThrow();
  });
});
