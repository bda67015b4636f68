// Public API of the TypeScript SDK (named exports only). Generated saga.v1
// types stay behind this line: everything here is the SDK's own.

// Participants: errors, server, handler types.
export { TerminalError, isTerminalError } from './terminal-error.js';
export { ParticipantServer } from './participant-server.js';
export type { ParticipantServerOptions, BoundAddress } from './participant-server.js';
export type {
  StepContext,
  StepHandler,
  StepHandlers,
  CheckTransactionContext,
  CheckTransactionHandler,
  TransactionDecision,
} from './step-handler.js';

// Participants: the barrier.
export { Barrier, BARRIER_REJECTED } from './barrier.js';
export { TccBarrier, TCC_OUT_OF_ORDER } from './tcc-barrier.js';
export type { BarrierContext, BarrierCallback } from './barrier.js';
export type {
  BarrierStore,
  BarrierKey,
  BarrierOp,
  BarrierOutcome,
  BarrierRecord,
  BarrierResult,
} from './barrier-store.js';
export { SqliteBarrier } from './sqlite-barrier.js';
export type { SqliteBarrierOptions } from './sqlite-barrier.js';
export type { SqliteTx, SqliteRunResult, SqliteParams } from './sqlite-tx.js';

// Clients: the saga API.
export { SagaClient } from './saga-client.js';
export type { SagaClientOptions, CallOptions, WatchOptions, WaitForOutcomeOptions } from './saga-client.js';
export { SagaBuilder } from './saga-builder.js';
export type { SagaStarter } from './saga-builder.js';
export { TccBuilder } from './tcc-builder.js';
export type { TccBranchOptions } from './tcc-builder.js';
export { SagaClientError } from './saga-client-error.js';
export type { GrpcStatusName } from './saga-client-error.js';
export type {
  RetryPolicy,
  StepOptions,
  StepDefinition,
  SagaOptions,
  SagaDefinition,
  StartSagaOptions,
} from './saga-definition.js';
export type {
  StartSagaResult,
  AttemptRecord,
  StepRecord,
  SagaRecord,
  SagaSummary,
  ListSagasFilter,
  SagaPage,
  SagaOutcomeResult,
} from './saga-record.js';
export { SETTLED_SAGA_STATES } from './saga-enums.js';
export type {
  SagaState,
  SagaOutcome,
  ForwardStatus,
  CompensationStatus,
  StepStatus,
  AttemptOperation,
  AttemptOutcome,
  TransactionKind,
  TccPhase,
} from './saga-enums.js';

// Shared.
export { encodePayload } from './payload.js';
export type { PayloadInput } from './payload.js';
export type { Logger } from './logger.js';
export { subscribeOutcomes } from './outcome-subscriber.js';
export type {
  OutcomeDelivery,
  OutcomeHandler,
  OutcomeState,
  OutcomeSubscriberOptions,
  OutcomeSubscription,
  SagaOutcomeEvent,
} from './outcome-subscriber.js';
export { TxMessageClient } from './tx-message-client.js';
export type { TxMessageClientOptions, TxMessagePrepareResult } from './tx-message-client.js';
export { TxMessageProducer } from './tx-message-producer.js';
export type { TxMessageProducerOptions, TxMessageSendOptions, TxMessageSendResult } from './tx-message-producer.js';
export { TxMessageDecidedError } from './tx-message-decided-error.js';
export { SqliteTxMessageLog, TX_MESSAGE_LOG_SCHEMA } from './sqlite-tx-message-log.js';
export type { SqliteTxMessageLogOptions } from './sqlite-tx-message-log.js';
export type { TxMessageLog } from './tx-message-log.js';
export { IdempotentConsumer } from './idempotent-consumer.js';
export type { ConsumedMessage, ConsumedMessageHandler, IdempotentConsumerOptions } from './idempotent-consumer.js';
export { SqliteProcessedMessageLog, PROCESSED_MESSAGES_SCHEMA } from './sqlite-processed-message-log.js';
export type { SqliteProcessedMessageLogOptions } from './sqlite-processed-message-log.js';
export type { ProcessedMessageLog } from './processed-message-log.js';
export type {
  CheckPolicyOptions,
  TxMessage,
  TxMessageCallOptions,
  TxMessageListFilter,
  TxMessagePage,
  TxMessageRecord,
  TxMessageState,
  TxMessageSummary,
} from './tx-message-types.js';
