// Abort (RUNNING), Retry and Resolve with a note (MANUAL), each behind a
// confirmation. Without the operator role they are shown disabled, with why.

import { useState } from 'preact/hooks';
import { post } from '../api';
import type { SagaState } from '../api-types';
import { operatorBlock, useSession } from '../session';
import { ConfirmDialog, type ConfirmRequest } from './confirm-dialog';

export function SagaActions({ sagaId, state, onDone }: { sagaId: string; state: SagaState; onDone: () => void }) {
  const session = useSession();
  const [request, setRequest] = useState<ConfirmRequest | undefined>(undefined);
  const blocked = operatorBlock(session);
  const path = (verb: string): string => `/api/sagas/${encodeURIComponent(sagaId)}/${verb}`;
  const act = async (verb: string, body: Record<string, unknown>): Promise<void> => {
    await post(path(verb), body);
    onDone();
  };
  const buttons: { label: string; request: ConfirmRequest }[] = [];
  if (state === 'RUNNING') {
    buttons.push({
      label: 'Abort',
      request: {
        title: 'Abort this saga?',
        body: `Saga ${sagaId} stops and compensates the steps that succeeded.`,
        confirmLabel: 'Abort saga',
        text: { label: 'Reason (optional)', required: false },
        onConfirm: (reason) => act('abort', { reason }),
      },
    });
  }
  if (state === 'MANUAL') {
    buttons.push(
      {
        label: 'Retry',
        request: {
          title: 'Retry the compensation?',
          body: `Saga ${sagaId} compensates again from the steps still to undo. Fix the participant first.`,
          confirmLabel: 'Retry compensation',
          onConfirm: () => act('retry', {}),
        },
      },
      {
        label: 'Resolve',
        request: {
          title: 'Resolve by hand?',
          body: `Saga ${sagaId} is marked RESOLVED with your note; nothing more is called.`,
          confirmLabel: 'Resolve saga',
          text: { label: 'Note: what was done', required: true },
          onConfirm: (note) => act('resolve', { note }),
        },
      },
    );
  }
  if (buttons.length === 0) return null;
  return (
    <div class="actions row" role="group" aria-label={`Actions on ${sagaId}`}>
      {buttons.map((b) => (
        <button key={b.label} type="button" class="primary" disabled={blocked !== undefined} title={blocked} aria-describedby={blocked === undefined ? undefined : `why-${sagaId}`} onClick={() => setRequest(b.request)}>
          {b.label}
        </button>
      ))}
      {blocked !== undefined && (
        <span id={`why-${sagaId}`} class="hint">
          {blocked}
        </span>
      )}
      {request !== undefined && <ConfirmDialog request={request} onClose={() => setRequest(undefined)} />}
    </div>
  );
}
