// This coordinator's instance row and its lease. Registering inserts a row
// with lease_until = now + leaseMs; a heartbeat renews it every leaseMs / 3 on
// a connection of its own (a busy pool cannot delay it). Times are the
// database server's clock, so coordinators' clocks need not agree.
//
// A renewal that finds the lease already expired (the process was paused, the
// database unreachable for longer than the lease) means other instances may
// be taking its sagas over: the lease is lost. Listeners are told (the engine
// drops every saga it holds), and the instance goes on under a new id; its
// old sagas are claimed like any dead instance's, by whoever comes first.
// Without a renewal for a whole lease (errors), the lease counts as lost too.
//
// Safety does not rest on the lease: every write of a saga checks its fencing
// epoch (postgres-saga-ownership.ts). The lease only says when to take over.

import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';

export interface InstanceLeaseOptions {
  readonly connection: pg.ClientConfig;
  /** A readable prefix of the instance ids (host:pid); a random suffix makes each registration unique. */
  readonly name: string;
  readonly leaseMs: number;
  /** A renewal failed (not lost yet): the caller logs it. */
  readonly onRenewError?: (err: Error) => void;
}

export class InstanceLease {
  private client: pg.Client | undefined;
  private id = '';
  private renewedAt = 0;
  private readonly stop = new AbortController();
  private loop: Promise<void> | undefined;
  private readonly lostListeners: ((err: Error) => void)[] = [];
  private renewals = 0;

  constructor(private readonly options: InstanceLeaseOptions) {}

  /** Registers the instance and starts the heartbeat. */
  async start(): Promise<void> {
    await this.register();
    this.loop = this.heartbeat();
  }

  /** The instance id this coordinator writes under now. */
  current(): string {
    return this.id;
  }

  /** Successful renewals so far. */
  renewalCount(): number {
    return this.renewals;
  }

  onLost(listener: (err: Error) => void): void {
    this.lostListeners.push(listener);
  }

  /** Ends the lease now (others claim this instance's remaining sagas at once) and stops the heartbeat. */
  async release(): Promise<void> {
    this.stop.abort();
    await this.loop;
    const client = this.client;
    this.client = undefined;
    if (client === undefined) return;
    await client.query('UPDATE instances SET lease_until = clock_timestamp() WHERE id = $1', [this.id]).catch(() => undefined);
    await client.end().catch(() => undefined);
  }

  private async connection(): Promise<pg.Client> {
    if (this.client !== undefined) return this.client;
    const client = new pg.Client(this.options.connection);
    // A broken heartbeat connection is replaced at the next renewal.
    client.on('error', () => {
      if (this.client === client) this.client = undefined;
    });
    await client.connect();
    this.client = client;
    return client;
  }

  private async register(): Promise<void> {
    const client = await this.connection();
    const id = `${this.options.name}:${randomBytes(4).toString('hex')}`;
    await client.query("INSERT INTO instances (id, lease_until) VALUES ($1, clock_timestamp() + $2::float8 * interval '1 millisecond')", [
      id,
      this.options.leaseMs,
    ]);
    this.id = id;
    this.renewedAt = Date.now();
  }

  private async heartbeat(): Promise<void> {
    const every = Math.max(1, Math.floor(this.options.leaseMs / 3));
    while (!this.stop.signal.aborted) {
      try {
        await sleep(every, undefined, { signal: this.stop.signal });
      } catch {
        return;
      }
      try {
        await this.renew();
      } catch (err) {
        const error = err instanceof Error ? err : new Error(String(err));
        void this.client?.end().catch(() => undefined);
        this.client = undefined;
        this.options.onRenewError?.(error);
        if (Date.now() - this.renewedAt > this.options.leaseMs) {
          await this.lose(new Error(`the lease of instance ${this.id} could not be renewed for ${this.options.leaseMs} ms: ${error.message}`)).catch(
            (e: unknown) => this.options.onRenewError?.(e instanceof Error ? e : new Error(String(e))),
          );
        }
      }
    }
  }

  private async renew(): Promise<void> {
    const client = await this.connection();
    const r = await client.query(
      `UPDATE instances SET lease_until = clock_timestamp() + $2::float8 * interval '1 millisecond', renewals = renewals + 1
        WHERE id = $1 AND lease_until > clock_timestamp()`,
      [this.id, this.options.leaseMs],
    );
    if ((r.rowCount ?? 0) === 0) {
      await this.lose(new Error(`the lease of instance ${this.id} expired before it was renewed (the process was paused or the database unreachable)`));
      return;
    }
    this.renewals += 1;
    this.renewedAt = Date.now();
  }

  /** Tells the listeners (they drop every saga of the old id), then registers anew. */
  private async lose(err: Error): Promise<void> {
    for (const l of this.lostListeners) l(err);
    await this.register();
  }
}
