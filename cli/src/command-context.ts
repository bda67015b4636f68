// What every command gets: the parsed global flags, its output, and the
// coordinator clients (made on first use, closed when the command ends).

import { SagaClient, TxMessageClient } from '@saga/sdk';
import { connectionSettings, type ConnectionSettings, type GlobalFlags } from './connection-options.js';
import { DeadLetterClient } from './dead-letter-client.js';
import { HealthClient } from './health-client.js';
import type { Output } from './output.js';

export class CommandContext {
  private settingsCache: ConnectionSettings | undefined;
  private readonly closers: (() => void)[] = [];

  constructor(
    readonly flags: GlobalFlags,
    readonly out: Output,
  ) {}

  get settings(): ConnectionSettings {
    this.settingsCache ??= connectionSettings(this.flags);
    return this.settingsCache;
  }

  sagaClient(): SagaClient {
    const s = this.settings;
    const client = new SagaClient({ address: s.address, credentials: s.credentials, callMetadata: s.callMetadata, defaultDeadlineMs: s.deadlineMs });
    this.closers.push(() => client.close());
    return client;
  }

  messageClient(): TxMessageClient {
    const s = this.settings;
    const client = new TxMessageClient({ address: s.address, credentials: s.credentials, callMetadata: s.callMetadata, defaultDeadlineMs: s.deadlineMs });
    this.closers.push(() => client.close());
    return client;
  }

  healthClient(): HealthClient {
    const s = this.settings;
    const client = new HealthClient(s.address, s.credentials, s.callMetadata);
    this.closers.push(() => client.close());
    return client;
  }

  deadLetterClient(): DeadLetterClient {
    const s = this.settings;
    const client = new DeadLetterClient(s.address, s.credentials, s.callMetadata, s.deadlineMs);
    this.closers.push(() => client.close());
    return client;
  }

  close(): void {
    for (const close of this.closers.splice(0)) close();
  }
}
