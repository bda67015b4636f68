// Versioned schema migrations, tracked in PRAGMA user_version. Each migration
// runs once, in its own transaction, in order.

import type { SqliteConnection } from './sqlite-connection.js';

// Append only: a released migration is never edited. Other modules' tables
// (transactional messages, …) are added here as further entries.
const MIGRATIONS: readonly string[] = [
  // 1: sagas, their journal, and the outbox of events to publish.
  `
  CREATE TABLE sagas (
    key             INTEGER PRIMARY KEY,
    id              TEXT    NOT NULL UNIQUE,
    name            TEXT    NOT NULL,
    state           TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    finished_at     INTEGER,
    deadline_at     INTEGER,
    definition      TEXT    NOT NULL,
    definition_hash TEXT    NOT NULL,
    failed_step     TEXT    NOT NULL DEFAULT '',
    reason          TEXT    NOT NULL DEFAULT '',
    note            TEXT    NOT NULL DEFAULT '',
    version         INTEGER NOT NULL DEFAULT 0
  );
  CREATE INDEX sagas_by_state ON sagas (state, key);
  CREATE INDEX sagas_by_name ON sagas (name, key);
  CREATE INDEX sagas_by_finished ON sagas (finished_at) WHERE finished_at IS NOT NULL;
  CREATE TABLE journal (
    saga_key INTEGER NOT NULL,
    seq      INTEGER NOT NULL,
    data     TEXT    NOT NULL,
    PRIMARY KEY (saga_key, seq)
  ) WITHOUT ROWID;
  CREATE TABLE outbox (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT    NOT NULL UNIQUE,
    subject      TEXT    NOT NULL,
    payload      BLOB    NOT NULL,
    headers      TEXT    NOT NULL,
    ordering_key TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    sent_at      INTEGER
  );
  CREATE INDEX outbox_pending ON outbox (seq) WHERE sent_at IS NULL;
  `,
  // 2: transactional ("half") messages (coordinator/src/messages).
  `
  CREATE TABLE tx_messages (
    id                TEXT    PRIMARY KEY,
    subject           TEXT    NOT NULL,
    msg_key           TEXT    NOT NULL,
    payload           BLOB    NOT NULL,
    headers           TEXT    NOT NULL,
    producer          TEXT    NOT NULL,
    check_after_ms    INTEGER NOT NULL,
    check_interval_ms INTEGER NOT NULL,
    max_checks        INTEGER NOT NULL,
    check_timeout_ms  INTEGER NOT NULL,
    content_hash      TEXT    NOT NULL,
    state             TEXT    NOT NULL,
    checks            INTEGER NOT NULL DEFAULT 0,
    created_at        INTEGER NOT NULL,
    decided_at        INTEGER,
    deliver_at        INTEGER,
    next_check_at     INTEGER,
    enqueued_at       INTEGER,
    published_at      INTEGER,
    reason            TEXT    NOT NULL DEFAULT '',
    version           INTEGER NOT NULL
  );
  CREATE INDEX tx_messages_prepared ON tx_messages (next_check_at) WHERE state = 'PREPARED';
  CREATE INDEX tx_messages_scheduled ON tx_messages (deliver_at) WHERE state = 'COMMITTED' AND enqueued_at IS NULL;
  CREATE INDEX tx_messages_unpublished ON tx_messages (enqueued_at) WHERE enqueued_at IS NOT NULL AND published_at IS NULL;
  CREATE INDEX tx_messages_decided ON tx_messages (decided_at) WHERE decided_at IS NOT NULL;
  `,
  // 3: durable counters: 'saga_key' is the last saga key reserved (see saga-key-blocks.ts).
  `
  CREATE TABLE counters (
    name  TEXT    PRIMARY KEY,
    value INTEGER NOT NULL
  ) WITHOUT ROWID;
  INSERT INTO counters (name, value) SELECT 'saga_key', COALESCE(MAX(key), 0) FROM sagas;
  `,
  // 4: pruning sent outbox rows by when they were sent; outbox rows that could
  // not be published (dead letters), each holding back the rows of its ordering key.
  `
  CREATE INDEX outbox_sent ON outbox (sent_at) WHERE sent_at IS NOT NULL;
  CREATE TABLE outbox_dead_letters (
    seq          INTEGER PRIMARY KEY,
    id           TEXT    NOT NULL UNIQUE,
    subject      TEXT    NOT NULL,
    payload      BLOB    NOT NULL,
    headers      TEXT    NOT NULL,
    ordering_key TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    failed_at    INTEGER NOT NULL,
    attempts     INTEGER NOT NULL,
    error        TEXT    NOT NULL
  );
  CREATE INDEX outbox_dead_letters_by_key ON outbox_dead_letters (ordering_key);
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

export async function migrate(db: SqliteConnection): Promise<number> {
  const row = await db.get<{ user_version: number }>('PRAGMA user_version');
  const current = row?.user_version ?? 0;
  if (current > SCHEMA_VERSION) {
    throw new Error(`database schema version ${current} is newer than this coordinator's (${SCHEMA_VERSION})`);
  }
  for (let v = current; v < SCHEMA_VERSION; v++) {
    await db.exec(`BEGIN IMMEDIATE;\n${MIGRATIONS[v] ?? ''}\nPRAGMA user_version = ${v + 1};\nCOMMIT;`);
  }
  return SCHEMA_VERSION;
}
