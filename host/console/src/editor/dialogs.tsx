// The editor's dialogs: the run input payload and the save conflict.
import { useState } from 'react';
import { Dialog } from '../ui/Dialog';

export function RunDialog({
  open,
  initial,
  dirty,
  onRun,
  onClose,
}: {
  open: boolean;
  initial: string;
  dirty: boolean;
  onRun: (input: unknown) => void;
  onClose: () => void;
}) {
  const [text, setText] = useState(initial);
  const [error, setError] = useState<string | null>(null);
  const [seen, setSeen] = useState(initial);
  if (seen !== initial) {
    setSeen(initial);
    setText(initial);
  }
  const run = () => {
    try {
      const input = text.trim() === '' ? {} : JSON.parse(text);
      setError(null);
      onRun(input);
    } catch (e) {
      setError(`Not JSON: ${(e as Error).message}`);
    }
  };
  return (
    <Dialog
      open={open}
      title="Run automation"
      onClose={onClose}
      testId="run-dialog"
      actions={
        <>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="button" className="primary" onClick={run} data-testid="run-start">
            {dirty ? 'Save and run' : 'Run'}
          </button>
        </>
      }
    >
      <label>
        Input payload (JSON, becomes $.Start)
        <textarea rows={10} className="mono" value={text} onChange={(e) => setText(e.target.value)} data-testid="run-input" aria-invalid={error ? true : undefined} />
      </label>
      {error && (
        <span className="field-error" role="alert">
          {error}
        </span>
      )}
    </Dialog>
  );
}

export function ConflictDialog({
  currentVersion,
  onReload,
  onOverwrite,
  onCancel,
}: {
  currentVersion: number | null;
  onReload: () => void;
  onOverwrite: () => void;
  onCancel: () => void;
}) {
  return (
    <Dialog
      open={currentVersion !== null}
      title="Someone else saved this automation"
      onClose={onCancel}
      testId="conflict-dialog"
      actions={
        <>
          <button type="button" onClick={onCancel} data-testid="conflict-cancel">
            Keep editing
          </button>
          <button type="button" onClick={onReload} data-testid="conflict-reload">
            Discard mine, load theirs
          </button>
          <button type="button" className="danger" onClick={onOverwrite} data-testid="conflict-overwrite">
            Overwrite with mine
          </button>
        </>
      }
    >
      <p>
        The automation was changed since you opened it (it is now version {currentVersion}). Load the saved version (your changes are lost), or
        overwrite it with yours (theirs are lost). Export yours first to keep both.
      </p>
    </Dialog>
  );
}
