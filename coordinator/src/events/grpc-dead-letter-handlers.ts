// The gRPC edge of the dead letters: saga.v1 requests in, domain calls, saga.v1
// responses out. Generated types stop here.

import type { DeadLetter } from '@saga/proto';
import type { DeadLetterHandlers } from '../grpc/dead-letter-handlers.js';
import type { DeadLetterRow } from '../store/store.js';
import type { DeadLetters } from './dead-letters.js';

export function grpcDeadLetterHandlers(deadLetters: DeadLetters): DeadLetterHandlers {
  return {
    list: async (req) => {
      const page = await deadLetters.list(req.pageSize, req.pageToken);
      return { deadLetters: page.deadLetters.map(deadLetterToPb), nextPageToken: page.nextPageToken };
    },
    replay: async (req) => {
      await deadLetters.replay(req.eventId);
      return {};
    },
    drop: async (req) => {
      await deadLetters.drop(req.eventId);
      return {};
    },
  };
}

function deadLetterToPb(d: DeadLetterRow): DeadLetter {
  return {
    eventId: d.id,
    subject: d.subject,
    orderingKey: d.orderingKey,
    payloadBytes: d.payload.length,
    createdAt: new Date(d.createdAt),
    failedAt: new Date(d.failedAt),
    attempts: d.attempts,
    error: d.error,
    waitingBehind: d.waitingBehind,
  };
}
