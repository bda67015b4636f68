// What other packages (the cross-component tests, the bench) use of the coordinator.

export { Http2UnaryChannel, type Http2UnaryChannelOptions, type Http2UnaryChannelStats } from './grpc/http2-unary-channel.js';
export { connectFrames, H2FrameSession } from './grpc/h2-frame-session.js';
export type { UnarySession, UnaryStream } from './grpc/unary-session.js';
export { GrpcJsTransport } from './grpc/grpc-js-transport.js';
export { installLeanAsyncResourceBind } from './grpc/lean-async-resource-bind.js';
export { GrpcParticipantInvoker, type GrpcParticipantInvokerOptions } from './grpc/grpc-participant-invoker.js';
export type { ParticipantTransport, TransportEndpoint, TransportTls, UnaryAnswer, UnaryCallHandle, UnaryRequest } from './grpc/participant-transport.js';
export { DEFAULT_PARTICIPANT_TRANSPORT, type ParticipantTransportSettings } from './grpc/participant-transport-settings.js';
export { parseTraceparent, traceIdOf } from './grpc/traceparent.js';
export { ParticipantRegistry, type ParticipantEndpoint } from './registry/participant-registry.js';
export { SqliteStore, type SqliteStoreOptions } from './store/sqlite/sqlite-store.js';
export { WriteConflictError } from './store/write-conflict-error.js';
