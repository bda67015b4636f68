// Versioned schema migrations of the PostgreSQL store, tracked in
// schema_migrations. Coordinators starting together serialise on an advisory
// lock; each migration runs once, in its own transaction, in order.

import type pg from 'pg';

// Append only: a released migration is never edited.
const MIGRATIONS: readonly string[] = [
  // 1: sagas, their journal, the outbox, transactional messages, counters.
  `
  CREATE TABLE sagas (
    key             bigint  PRIMARY KEY,
    id              text    NOT NULL UNIQUE,
    name            text    NOT NULL,
    state           text    NOT NULL,
    created_at      bigint  NOT NULL,
    updated_at      bigint  NOT NULL,
    finished_at     bigint,
    deadline_at     bigint,
    definition      text    NOT NULL,
    definition_hash text    NOT NULL,
    failed_step     text    NOT NULL DEFAULT '',
    reason          text    NOT NULL DEFAULT '',
    note            text    NOT NULL DEFAULT '',
    version         integer NOT NULL DEFAULT 0
  );
  -- ListSagas pages by key descending, filtered by state or name.
  CREATE INDEX sagas_by_state ON sagas (state, key);
  CREATE INDEX sagas_by_name ON sagas (name, key);
  -- Recovery reads active sagas only; millions of finished ones stay out of this index.
  CREATE INDEX sagas_active ON sagas (key) WHERE state IN ('RUNNING', 'COMPENSATING');
  -- Retention walks finished sagas oldest first.
  CREATE INDEX sagas_by_finished ON sagas (finished_at) WHERE finished_at IS NOT NULL;
  CREATE TABLE journal (
    saga_key bigint  NOT NULL,
    seq      integer NOT NULL,
    data     text    NOT NULL,
    PRIMARY KEY (saga_key, seq)
  );
  CREATE TABLE outbox (
    seq          bigserial PRIMARY KEY,
    id           text      NOT NULL UNIQUE,
    subject      text      NOT NULL,
    payload      bytea     NOT NULL,
    headers      text      NOT NULL,
    ordering_key text      NOT NULL,
    created_at   bigint    NOT NULL,
    sent_at      bigint
  );
  CREATE INDEX outbox_pending ON outbox (seq) WHERE sent_at IS NULL;
  -- Pruning finds sent rows by when they were sent.
  CREATE INDEX outbox_sent ON outbox (sent_at) WHERE sent_at IS NOT NULL;
  -- Outbox rows that could not be published, each holding back the rows of its ordering key.
  CREATE TABLE outbox_dead_letters (
    seq          bigint  PRIMARY KEY,
    id           text    NOT NULL UNIQUE,
    subject      text    NOT NULL,
    payload      bytea   NOT NULL,
    headers      text    NOT NULL,
    ordering_key text    NOT NULL,
    created_at   bigint  NOT NULL,
    failed_at    bigint  NOT NULL,
    attempts     integer NOT NULL,
    error        text    NOT NULL
  );
  CREATE INDEX outbox_dead_letters_by_key ON outbox_dead_letters (ordering_key);
  CREATE TABLE tx_messages (
    id                text    PRIMARY KEY,
    subject           text    NOT NULL,
    msg_key           text    NOT NULL,
    payload           bytea   NOT NULL,
    headers           text    NOT NULL,
    producer          text    NOT NULL,
    check_after_ms    bigint  NOT NULL,
    check_interval_ms bigint  NOT NULL,
    max_checks        integer NOT NULL,
    check_timeout_ms  bigint  NOT NULL,
    content_hash      text    NOT NULL,
    state             text    NOT NULL,
    checks            integer NOT NULL DEFAULT 0,
    created_at        bigint  NOT NULL,
    decided_at        bigint,
    deliver_at        bigint,
    next_check_at     bigint,
    enqueued_at       bigint,
    published_at      bigint,
    reason            text    NOT NULL DEFAULT '',
    version           integer NOT NULL
  );
  CREATE INDEX tx_messages_prepared ON tx_messages (next_check_at) WHERE state = 'PREPARED';
  CREATE INDEX tx_messages_scheduled ON tx_messages (deliver_at) WHERE state = 'COMMITTED' AND enqueued_at IS NULL;
  CREATE INDEX tx_messages_unpublished ON tx_messages (enqueued_at) WHERE enqueued_at IS NOT NULL AND published_at IS NULL;
  CREATE INDEX tx_messages_decided ON tx_messages (decided_at) WHERE decided_at IS NOT NULL;
  CREATE INDEX tx_messages_newest ON tx_messages (created_at DESC, id DESC);
  -- 'saga_key' = the last saga key reserved (see saga-key-blocks.ts).
  CREATE TABLE counters (
    name  text   PRIMARY KEY,
    value bigint NOT NULL
  );
  INSERT INTO counters (name, value) VALUES ('saga_key', 0);
  -- The one coordinator writing this database, and its fencing epoch (see postgres-store-owner.ts).
  CREATE TABLE store_owner (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    epoch    bigint  NOT NULL,
    instance text    NOT NULL,
    since    bigint  NOT NULL
  );
  INSERT INTO store_owner (epoch, instance, since) VALUES (0, '', 0);
  `,
  // 2: several coordinators: instances with leases, an owner and a fencing epoch per saga
  // (see postgres-instance-lease.ts, postgres-saga-ownership.ts). Sagas of a
  // single-owner database have no owner yet: the first instance claims them.
  `
  CREATE TABLE instances (
    id          text        PRIMARY KEY,
    started_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    lease_until timestamptz NOT NULL,
    renewals    bigint      NOT NULL DEFAULT 0
  );
  ALTER TABLE sagas ADD COLUMN owner text, ADD COLUMN epoch bigint NOT NULL DEFAULT 0;
  -- Claiming finds the active sagas of the instances whose lease expired.
  CREATE INDEX sagas_active_by_owner ON sagas (owner, key) WHERE state IN ('RUNNING', 'COMPENSATING');
  DROP TABLE store_owner;
  `,
  // 3: transactional messages owned by the instance that checks them back (claimed like sagas).
  `
  ALTER TABLE tx_messages ADD COLUMN owner text;
  CREATE INDEX tx_messages_pending_by_owner ON tx_messages (owner)
    WHERE state = 'PREPARED' OR (state = 'COMMITTED' AND enqueued_at IS NULL);
  `,
  // 4: outbox rows owned by the instance whose relay publishes them (see postgres-outbox-claims.ts).
  // Unsent rows written before go to their saga's owner; the others have none: the first instance claims them.
  `
  ALTER TABLE outbox ADD COLUMN owner text;
  UPDATE outbox o SET owner = s.owner FROM sagas s WHERE o.sent_at IS NULL AND s.id = o.ordering_key;
  -- Each relay reads its own unsent rows in seq order; claims find an expired instance's.
  CREATE INDEX outbox_pending_by_owner ON outbox (owner, seq) WHERE sent_at IS NULL;
  -- Claiming a saga moves its unsent rows (ordering key = saga id) with it.
  CREATE INDEX outbox_pending_by_key ON outbox (ordering_key) WHERE sent_at IS NULL;
  `,
];

export const POSTGRES_SCHEMA_VERSION = MIGRATIONS.length;

/** Any constant: the advisory lock coordinators take while migrating. */
const MIGRATION_LOCK = 7_211_940_431;

export async function migratePostgres(client: pg.ClientBase): Promise<number> {
  await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
  for (;;) {
    await client.query('BEGIN');
    try {
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      const row = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM schema_migrations');
      const current = row.rows[0]?.v ?? 0;
      if (current > POSTGRES_SCHEMA_VERSION) {
        throw new Error(`database schema version ${current} is newer than this coordinator's (${POSTGRES_SCHEMA_VERSION})`);
      }
      if (current === POSTGRES_SCHEMA_VERSION) {
        await client.query('COMMIT');
        return current;
      }
      await client.query(MIGRATIONS[current] ?? '');
      await client.query('INSERT INTO schema_migrations (version) VALUES ($1)', [current + 1]);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }
}
