// Create a connection for a connector, with one of the auth kinds its
// manifest declares. Secret inputs are password fields that are cleared
// after submitting: the secret is typed once and never shown again.
import { useMemo, useState, type FormEvent } from 'react';
import { ApiError, errorMessage } from '../api/client';
import * as api from '../api/endpoints';
import { connectionKinds, type AuthInput, type AuthKind, type Connection, type Connector } from '../api/types';
import { ErrorNotice } from '../ui/Notice';

/** The inputs each auth kind needs (`secret` ones are write-only). */
export const KIND_FIELDS: Record<AuthKind, { name: keyof AuthInput; label: string; secret: boolean; optional?: boolean }[]> = {
  'api-key': [{ name: 'key', label: 'API key', secret: true }],
  bearer: [{ name: 'token', label: 'Token', secret: true }],
  basic: [
    { name: 'username', label: 'Username', secret: false },
    { name: 'password', label: 'Password', secret: true },
  ],
  'oauth2-code': [
    { name: 'client_id', label: 'Client id', secret: false },
    { name: 'client_secret', label: 'Client secret (empty for PKCE-only providers)', secret: true, optional: true },
  ],
  'oauth2-client-credentials': [
    { name: 'client_id', label: 'Client id', secret: false },
    { name: 'client_secret', label: 'Client secret', secret: true },
  ],
};

export function CreateConnectionForm({
  connectors,
  onCreated,
  onCancel,
}: {
  connectors: Connector[];
  onCreated: (c: Connection) => void;
  onCancel: () => void;
}) {
  const usable = useMemo(() => connectors.filter((c) => connectionKinds(c).length > 0), [connectors]);
  const [connectorId, setConnectorId] = useState(usable[0]?.id ?? '');
  const connector = usable.find((c) => c.id === connectorId);
  const kinds = connectionKinds(connector);
  const [kind, setKind] = useState<AuthKind | ''>(kinds[0] ?? '');
  const effectiveKind = (kinds.includes(kind as AuthKind) ? kind : kinds[0]) as AuthKind | undefined;
  const [name, setName] = useState('');
  const [values, setValues] = useState<Record<string, string>>({});
  const [fieldsText, setFieldsText] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!connector || !effectiveKind) return;
    setBusy(true);
    setError(null);
    const auth: AuthInput = { kind: effectiveKind };
    for (const f of KIND_FIELDS[effectiveKind]) {
      const v = values[f.name];
      if (v) (auth as unknown as Record<string, string>)[f.name] = v;
    }
    let fields: Record<string, string | number | boolean> | undefined;
    if (fieldsText.trim()) {
      try {
        fields = JSON.parse(fieldsText);
      } catch {
        setError('Fields must be a JSON object, e.g. {"tenant": "acme"}.');
        setBusy(false);
        return;
      }
    }
    try {
      const c = await api.createConnection({ connector: connector.id, name, auth, fields });
      setValues({});
      onCreated(c);
    } catch (err) {
      const field = err instanceof ApiError ? (err.details as { field?: string } | undefined)?.field : undefined;
      setError(field ? `${errorMessage(err)} (${field})` : errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  if (usable.length === 0) {
    return <p className="help">No installed connector needs a connection.</p>;
  }
  return (
    <form className="card" onSubmit={submit} aria-label="New connection" data-testid="connection-form">
      <div className="dialog-body">
        <label>
          Connector
          <select value={connectorId} onChange={(e) => setConnectorId(e.target.value)} data-testid="connection-connector">
            {usable.map((c) => (
              <option key={c.id} value={c.id}>
                {c.display_name || c.id}
              </option>
            ))}
          </select>
        </label>
        <label>
          Name
          <input required value={name} onChange={(e) => setName(e.target.value)} placeholder="Team bot" data-testid="connection-name" />
        </label>
        <label>
          Authentication
          <select value={effectiveKind ?? ''} onChange={(e) => setKind(e.target.value as AuthKind)} data-testid="connection-kind">
            {kinds.map((k) => (
              <option key={k}>{k}</option>
            ))}
          </select>
        </label>
        {effectiveKind &&
          KIND_FIELDS[effectiveKind].map((f) => (
            <label key={f.name}>
              {f.label}
              <input
                type={f.secret ? 'password' : 'text'}
                autoComplete={f.secret ? 'new-password' : 'off'}
                required={!f.optional}
                value={values[f.name] ?? ''}
                onChange={(e) => setValues((v) => ({ ...v, [f.name]: e.target.value }))}
                data-testid={`connection-${f.name}`}
              />
            </label>
          ))}
        <label>
          Fields (optional JSON object of non-secret values)
          <input value={fieldsText} onChange={(e) => setFieldsText(e.target.value)} className="mono" placeholder='{"tenant": "acme"}' data-testid="connection-fields" />
        </label>
        <ErrorNotice error={error} />
        <div className="dialog-actions">
          <button type="button" onClick={onCancel}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={busy} data-testid="connection-submit">
            Create connection
          </button>
        </div>
      </div>
    </form>
  );
}
