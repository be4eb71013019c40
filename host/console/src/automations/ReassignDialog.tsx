import { useState, type FormEvent } from 'react';
import type { Automation } from '../api/types';
import { Dialog } from '../ui/Dialog';

/** Admins: give an automation to another user. */
export function ReassignDialog({
  automation,
  owners,
  onReassign,
  onClose,
}: {
  automation: Automation | null;
  owners: string[];
  onReassign: (a: Automation, owner: string) => void;
  onClose: () => void;
}) {
  const [owner, setOwner] = useState('');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (automation && owner.trim()) onReassign(automation, owner.trim());
    setOwner('');
  };
  return (
    <Dialog open={automation !== null} title={`Reassign ${automation?.name ?? automation?.id ?? ''}`} onClose={onClose} testId="reassign-dialog">
      <form className="dialog-body" onSubmit={submit}>
        <p>
          Now owned by <strong>{automation?.owner}</strong>. The new owner runs it with their own connections.
        </p>
        <label>
          New owner (user name)
          <input required list="reassign-owners" value={owner} onChange={(e) => setOwner(e.target.value)} data-testid="reassign-owner" autoFocus />
        </label>
        <datalist id="reassign-owners">
          {owners.map((o) => (
            <option key={o} value={o} />
          ))}
        </datalist>
        <div className="dialog-actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" data-testid="reassign-submit">
            Reassign
          </button>
        </div>
      </form>
    </Dialog>
  );
}
