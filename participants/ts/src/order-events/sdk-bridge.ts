// The SDK's transactional-message helpers, imported from the built SDK until
// they are exported by name from '@saga/sdk' (then import them from there and
// delete this file).
export { TxMessageClient } from '../../../../sdk/dist/tx-message-client.js';
export { TxMessageProducer } from '../../../../sdk/dist/tx-message-producer.js';
export { TxMessageRecordedError } from '../../../../sdk/dist/tx-message-log.js';
export { SqliteTxMessageLog } from '../../../../sdk/dist/sqlite-tx-message-log.js';
export { IdempotentConsumer } from '../../../../sdk/dist/idempotent-consumer.js';
export type { ConsumedMessage } from '../../../../sdk/dist/idempotent-consumer.js';
export { SqliteProcessedMessageLog } from '../../../../sdk/dist/sqlite-processed-message-log.js';
export type { CheckPolicyOptions } from '../../../../sdk/dist/tx-message-types.js';
