// Which coordinator publishes the outbox of a shared PostgreSQL database: the
// one holding a session advisory lock on a connection of its own. One relay
// at a time keeps each saga's events in commit order across instances; the
// others stand by and take the lock when its holder's session ends (a killed
// coordinator's connection closes, a closed one releases it). Rows published
// twice around a takeover are dropped by JetStream (Nats-Msg-Id).

import pg from 'pg';
import type { RelayTurn } from '../store.js';

/** Any constant: the advisory lock of the outbox relay. */
const RELAY_LOCK = 7_211_940_433;

export class PostgresRelayTurn implements RelayTurn {
  private client: pg.Client | undefined;
  private held = false;

  constructor(private readonly connection: pg.ClientConfig) {}

  async acquire(): Promise<boolean> {
    if (this.held && this.client !== undefined) return true;
    const client = this.client ?? (await this.connect());
    const r = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [RELAY_LOCK]);
    this.held = r.rows[0]?.ok === true;
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
    const client = new pg.Client(this.connection);
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
