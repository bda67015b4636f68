// Transactional messages' check-backs on two coordinator processes sharing
// one PostgreSQL database: each message is checked back only by the instance
// that accepted it (no check number asked twice while both run), and after a
// kill -9 of one, its messages are claimed by the other once its lease
// expired, and their check-backs go on from there.

import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { startCoordinator } from '../support/launchers.js';
import type { ManagedProcess } from '../support/managed-process.js';
import { RecordingParticipant, type CheckArrival } from '../support/recording-participant.js';
import { storeScalar, useStoreBackends } from '../support/store-backends.js';
import { idFor, testDir } from '../support/test-dir.js';
import { waitFor } from '../support/wait-for.js';
import { MessageRpcClient } from '../messages/message-rpc-client.js';
import { cleanupsAfterEach } from '../support/cleanups.js';

const LEASE_MS = 2_000;
const MESSAGES_PER_COORDINATOR = 5;
/** Checked back every 200 ms, answered UNKNOWN, for far longer than the test. */
const CHECK_POLICY = { checkAfterMs: 200, checkIntervalMs: 200, maxChecks: 1_000, checkTimeoutMs: 2_000 };

const stores = useStoreBackends();
const cleanups = cleanupsAfterEach();

interface Member {
  readonly process: ManagedProcess;
  readonly messages: MessageRpcClient;
}

async function member(db: string, producer: RecordingParticipant, config: string): Promise<Member> {
  const proc = await startCoordinator({ db, participants: { rec: producer.address }, env: { SAGA_LEASE_MS: String(LEASE_MS), SAGA_CONFIG: config } });
  const messages = new MessageRpcClient(proc.address);
  cleanups.push(
    () => proc.stop(),
    () => messages.close(),
  );
  return { process: proc, messages };
}

/** The (message, check number) pairs asked more than once among `checks`. */
function askedTwice(checks: readonly CheckArrival[]): string[] {
  const seen = new Set<string>();
  const twice: string[] = [];
  for (const c of checks) {
    const k = `${c.messageId}#${c.check}`;
    if (seen.has(k)) twice.push(k);
    seen.add(k);
  }
  return twice;
}

const lastCheck = (checks: readonly CheckArrival[], id: string): number => Math.max(0, ...checks.filter((c) => c.messageId === id).map((c) => c.check));

describe('message check-backs on several coordinators', () => {
  it("checks each message back from its owner only, and the killed owner's messages from the survivor", { timeout: 120_000 }, async () => {
    const test = 'check-backs in a cluster';
    const db = (await stores.location('postgres', test)) ?? '';
    const dir = testDir(test);
    cleanups.push(() => dir.remove());
    const config = dir.file('coordinator.json');
    writeFileSync(config, JSON.stringify({ messages: { subjects: ['orders.>'] } }));
    const producer = await RecordingParticipant.start();
    cleanups.push(() => producer.close());
    const a = await member(db, producer, config);
    const b = await member(db, producer, config);
    const prepare = async (m: Member, side: string): Promise<string[]> => {
      const ids = Array.from({ length: MESSAGES_PER_COORDINATOR }, (_, i) => idFor(test, `${side}-${i}`));
      for (const messageId of ids) await m.messages.prepare({ messageId, subject: 'orders.created', producer: 'rec', checkPolicy: CHECK_POLICY });
      return ids;
    };
    const ofA = await prepare(a, 'a');
    const ofB = await prepare(b, 'b');
    const all = [...ofA, ...ofB];

    // Both running: every message is checked back, each check number once (by its owner alone).
    await waitFor(() => all.every((id) => lastCheck(producer.checks, id) >= 3), 'three check-backs of every message', 60_000);
    expect(askedTwice(producer.checks)).toEqual([]);
    expect(await storeScalar(db, 'SELECT count(DISTINCT owner) FROM tx_messages')).toBe(2);

    // kill -9 of A: once its lease expired, B claims A's messages and checks them back from where they were.
    await a.process.crash();
    const killedAt = producer.checks.length;
    const before = new Map(ofA.map((id) => [id, lastCheck(producer.checks, id)]));
    await waitFor(
      () => ofA.every((id) => lastCheck(producer.checks, id) >= (before.get(id) ?? 0) + 3),
      "three more check-backs of each of the killed coordinator's messages",
      60_000,
    );
    expect(await storeScalar(db, 'SELECT count(DISTINCT owner) FROM tx_messages')).toBe(1);
    // From B alone since: a check A sent just before the kill may be asked again once, no other twice.
    const since = producer.checks.slice(killedAt);
    expect(askedTwice(since)).toEqual([]);
  });
});
