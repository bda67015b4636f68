// For tests of several coordinators on one PostgreSQL database: ends an
// instance's lease now, as if it had not renewed it in time (a paused process).

import pg from 'pg';

/** Sets the lease of `instance` to a second ago; throws if no such instance is registered. */
export async function expireLease(url: string, instance: string): Promise<void> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    const r = await admin.query("UPDATE instances SET lease_until = clock_timestamp() - interval '1 second' WHERE id = $1", [instance]);
    if (r.rowCount !== 1) throw new Error(`no instance ${instance} is registered`);
  } finally {
    await admin.end();
  }
}
