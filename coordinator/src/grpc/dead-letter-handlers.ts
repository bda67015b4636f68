// The dead-letter RPCs of the Coordinator service (operator calls), behind one
// interface so the saga service does not depend on how the outbox is kept.

import type {
  DropDeadLetterRequest,
  DropDeadLetterResponse,
  ListDeadLettersRequest,
  ListDeadLettersResponse,
  ReplayDeadLetterRequest,
  ReplayDeadLetterResponse,
} from '@saga/proto';

export interface DeadLetterHandlers {
  list(req: ListDeadLettersRequest): Promise<ListDeadLettersResponse>;
  replay(req: ReplayDeadLetterRequest): Promise<ReplayDeadLetterResponse>;
  drop(req: DropDeadLetterRequest): Promise<DropDeadLetterResponse>;
}
