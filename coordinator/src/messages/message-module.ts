// Composes transactional messages from the coordinator's parts: their table in
// the store, check-backs over gRPC to registered producers, the service, and
// the gRPC handlers. One start/close lifecycle.

import type { Logger } from 'pino';
import type { CoordinatorConfig } from '../config/config.js';
import type { MessageHandlers } from '../grpc/message-handlers.js';
import type { ParticipantRegistry } from '../registry/participant-registry.js';
import type { Store } from '../store/store.js';
import { GrpcCheckInvoker } from './grpc-check-invoker.js';
import { grpcMessageHandlers } from './grpc-message-handlers.js';
import { MessageService, type MessageCrashPoint } from './message-service.js';
import { allowedMessageSubjects } from './message-settings.js';

export interface MessageModuleOptions {
  readonly config: CoordinatorConfig;
  /** Open; the module's writes join its group commits. */
  readonly store: Store;
  readonly registry: ParticipantRegistry;
  readonly logger: Logger;
  /** Outbox rows were committed: wake the relay. */
  readonly onOutboxWritten?: () => void;
  /** The largest message NATS can carry now (payload and headers). */
  readonly maxEventBytes?: () => number;
  readonly crashPoint?: (point: MessageCrashPoint, messageId: string) => void;
}

export interface MessageModule {
  readonly handlers: MessageHandlers;
  readonly service: MessageService;
  close(): Promise<void>;
}

/** Opens the module and re-arms every pending check-back and delivery. */
export async function startMessageModule(options: MessageModuleOptions): Promise<MessageModule> {
  const { config, registry } = options;
  const logger = options.logger.child({ component: 'messages' });
  const prefix = config.events.subjectPrefix;
  const streamSubjects = config.nats.stream.subjects.length > 0 ? config.nats.stream.subjects : [];
  const allowedSubjects = allowedMessageSubjects(config.messages, streamSubjects, prefix);
  const invoker = new GrpcCheckInvoker(registry, config.participantTransport);
  const service = new MessageService({
    store: options.store,
    invoker,
    settings: config.messages,
    isRegistered: (name) => registry.check(name) === 'registered',
    subjectPrefix: prefix,
    allowedSubjects,
    logger,
    crashPoint: options.crashPoint,
    onOutboxWritten: options.onOutboxWritten,
    maxEventBytes: options.maxEventBytes,
  });
  try {
    const resumed = await service.start();
    logger.debug({ ...resumed, allowedSubjects }, 'transactional messages ready');
  } catch (err) {
    await service.close();
    await invoker.close();
    throw err;
  }
  return {
    handlers: grpcMessageHandlers(service, { reads: options.store, maxKeyBytes: config.messages.limits.maxKeyBytes }),
    service,
    close: async () => {
      await service.close();
      await invoker.close();
    },
  };
}
