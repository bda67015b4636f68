// A modal confirmation (native <dialog>: focus moves in, Escape cancels). With
// `text`, it asks for a note or reason; `textRequired` blocks an empty one.

import { useEffect, useRef, useState } from 'preact/hooks';

export interface ConfirmRequest {
  readonly title: string;
  readonly body: string;
  readonly confirmLabel: string;
  readonly text?: { readonly label: string; readonly required: boolean };
  readonly onConfirm: (text: string) => Promise<void>;
}

export function ConfirmDialog({ request, onClose }: { request: ConfirmRequest; onClose: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  useEffect(() => {
    const d = ref.current;
    if (d !== null && !d.open) d.showModal();
  }, []);
  const missing = request.text?.required === true && text.trim() === '';
  const confirm = (e: Event): void => {
    e.preventDefault();
    if (missing || busy) return;
    setBusy(true);
    request.onConfirm(text).then(
      () => {
        ref.current?.close();
        onClose();
      },
      (err: unknown) => {
        setBusy(false);
        setError(err instanceof Error ? err.message : String(err));
      },
    );
  };
  return (
    <dialog ref={ref} aria-labelledby="confirm-title" onClose={onClose} class="confirm">
      <form method="dialog" onSubmit={confirm}>
        <h2 id="confirm-title">{request.title}</h2>
        <p>{request.body}</p>
        {request.text !== undefined && (
          <label class="stack">
            {request.text.label}
            <textarea name="note" rows={3} value={text} onInput={(e) => setText((e.target as HTMLTextAreaElement).value)} required={request.text.required} />
          </label>
        )}
        {error !== undefined && (
          <p role="alert" class="error">
            {error}
          </p>
        )}
        <div class="row end">
          <button type="button" onClick={() => ref.current?.close()}>
            Cancel
          </button>
          <button type="submit" class="primary" disabled={missing || busy}>
            {request.confirmLabel}
          </button>
        </div>
      </form>
    </dialog>
  );
}
