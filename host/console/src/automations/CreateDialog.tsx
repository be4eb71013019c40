import { useState, type FormEvent } from 'react';
import { errorMessage } from '../api/client';
import * as api from '../api/endpoints';
import type { CreatedAutomation } from '../api/types';
import { emptyDocument } from '../editor/graph';
import { Dialog } from '../ui/Dialog';
import { ErrorNotice } from '../ui/Notice';
import { idFromName } from './listModel';

/** Name a new automation; it is created at once with a lone Start block. */
export function CreateDialog({
  open,
  taken,
  onClose,
  onCreated,
}: {
  open: boolean;
  taken: ReadonlySet<string>;
  onClose: () => void;
  onCreated: (c: CreatedAutomation) => void;
}) {
  const [name, setName] = useState('');
  const [id, setId] = useState('');
  const [idTouched, setIdTouched] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const shownId = idTouched ? id : idFromName(name, taken);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const c = await api.createAutomation(emptyDocument(shownId, name.trim() || shownId));
      setName('');
      setId('');
      setIdTouched(false);
      onCreated(c);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Dialog open={open} title="New automation" onClose={onClose} testId="create-dialog">
      <form onSubmit={submit} className="dialog-body">
        <label>
          Name
          <input required value={name} onChange={(e) => setName(e.target.value)} data-testid="create-name" autoFocus />
        </label>
        <label>
          Id
          <input
            required
            pattern="[A-Za-z0-9_\-]{1,64}"
            value={shownId}
            onChange={(e) => {
              setIdTouched(true);
              setId(e.target.value);
            }}
            className="mono"
            data-testid="create-id"
          />
          <span className="help">1-64 letters, digits, _ or -. Used in URLs; cannot change later.</span>
        </label>
        <ErrorNotice error={error} />
        <div className="dialog-actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={busy} data-testid="create-submit">
            Create and open editor
          </button>
        </div>
      </form>
    </Dialog>
  );
}
