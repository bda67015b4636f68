// Which coordinator publishes the outbox of a shared PostgreSQL database: the
// one holding a session advisory lock on a connection of its own. One relay
// at a time keeps each saga's events in commit order across instances; the
// others stand by and take the lock when its holder's session ends (a killed
// coordinator's connection closes, a closed one releases it). A holder whose
// instance lease expired (a paused process keeps its session) has its session
// ended by the standby that finds it so. Rows published twice around a
// takeover are dropped by JetStream (Nats-Msg-Id).

import pg from 'pg';
import type { RelayTurn } from '../store.js';

/** Any constant: the advisory lock of the outbox relay. */
const RELAY_LOCK = 7_211_940_433n;
/** How pg_locks shows a bigint advisory lock: the high and low 32 bits. */
const LOCK_HIGH = Number(RELAY_LOCK >> 32n);
const LOCK_LOW = Number(RELAY_LOCK & 0xffff_ffffn);

export class PostgresRelayTurn implements RelayTurn {
  private client: pg.Client | undefined;
  private held = false;

  constructor(
    private readonly connection: pg.ClientConfig,
    /** This coordinator's instance id now (the relay session's application_name). */
    private readonly instance: () => string,
  ) {}

  async acquire(): Promise<boolean> {
    if (this.held && this.client !== undefined) return true;
    const client = this.client ?? (await this.connect());
    const r = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [RELAY_LOCK.toString()]);
    this.held = r.rows[0]?.ok === true;
    // Held by an instance whose lease expired: end its session (the lock is ours at the next try).
    if (!this.held) await client.query(ENDS_EXPIRED_HOLDER, [LOCK_HIGH, LOCK_LOW]);
    return this.held;
  }

  async release(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.held = false;
    // Ending the session releases the lock.
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<pg.Client> {
    // application_name names the instance holding the turn (ids longer than 63 bytes are cut: never ended then).
    const client = new pg.Client({ ...this.connection, application_name: this.instance() });
    // The session holding the lock ended: the turn is lost (another relay may take it).
    client.on('error', () => this.lost(client));
    client.on('end', () => this.lost(client));
    await client.connect();
    this.client = client;
    return client;
  }

  private lost(client: pg.Client): void {
    if (this.client !== client) return;
    this.client = undefined;
    this.held = false;
  }
}

const ENDS_EXPIRED_HOLDER = `SELECT pg_terminate_backend(a.pid)
  FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
 WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1 AND l.objid = $2 AND l.objsubid = 1
   AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
   AND EXISTS (SELECT 1 FROM instances i WHERE i.id = a.application_name AND i.lease_until <= clock_timestamp())`;
