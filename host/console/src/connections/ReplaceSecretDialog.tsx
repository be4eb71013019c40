// Reconnect a token connection: type a new secret (PATCH the connection's
// auth); like at creation it is sent once and never shown again.
import { useState, type FormEvent } from 'react';
import { errorMessage } from '../api/client';
import * as api from '../api/endpoints';
import type { AuthInput, Connection } from '../api/types';
import { Dialog } from '../ui/Dialog';
import { ErrorNotice } from '../ui/Notice';
import { KIND_FIELDS } from './CreateConnectionForm';

export function ReplaceSecretDialog({ connection, onDone, onClose }: { connection: Connection | null; onDone: (c: Connection) => void; onClose: () => void }) {
  const [values, setValues] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);
  const fields = connection ? KIND_FIELDS[connection.auth_kind] : [];
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!connection) return;
    const auth: AuthInput = { kind: connection.auth_kind };
    for (const f of fields) if (values[f.name]) (auth as unknown as Record<string, string>)[f.name] = values[f.name];
    try {
      const c = await api.updateConnection(connection.id, { auth });
      setValues({});
      setError(null);
      onDone(c);
    } catch (err) {
      setError(errorMessage(err));
    }
  };
  return (
    <Dialog open={connection !== null} title={`Replace the secret of ${connection?.name ?? ''}`} onClose={onClose} testId="replace-secret-dialog">
      <form className="dialog-body" onSubmit={submit}>
        {fields.map((f) => (
          <label key={f.name}>
            {f.label}
            <input
              type={f.secret ? 'password' : 'text'}
              autoComplete={f.secret ? 'new-password' : 'off'}
              required={!f.optional}
              value={values[f.name] ?? ''}
              onChange={(e) => setValues((v) => ({ ...v, [f.name]: e.target.value }))}
              data-testid={`replace-${f.name}`}
            />
          </label>
        ))}
        <ErrorNotice error={error} />
        <div className="dialog-actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" data-testid="replace-submit">
            Replace secret
          </button>
        </div>
      </form>
    </Dialog>
  );
}
