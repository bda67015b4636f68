// The participant RPC each operation calls: sagas call saga.v1.Participant,
// TCC branches saga.v1.TccParticipant (a separate service, so saga-only
// participants need not implement it).

import type { Operation } from '../domain/saga-types.js';

export interface ParticipantMethod {
  readonly service: 'saga.v1.Participant' | 'saga.v1.TccParticipant';
  readonly method: 'Execute' | 'Compensate' | 'Try' | 'Confirm' | 'Cancel';
  /** The gRPC path, "/<service>/<method>". */
  readonly path: string;
}

const method = (service: ParticipantMethod['service'], name: ParticipantMethod['method']): ParticipantMethod => ({ service, method: name, path: `/${service}/${name}` });

export const PARTICIPANT_METHODS: Readonly<Record<Operation, ParticipantMethod>> = {
  execute: method('saga.v1.Participant', 'Execute'),
  compensate: method('saga.v1.Participant', 'Compensate'),
  try: method('saga.v1.TccParticipant', 'Try'),
  confirm: method('saga.v1.TccParticipant', 'Confirm'),
  cancel: method('saga.v1.TccParticipant', 'Cancel'),
};
