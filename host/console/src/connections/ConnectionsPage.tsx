// Connections: list with status, create (the secret is typed once and
// never shown again), OAuth2 authorize / reconnect, delete.
import { useCallback, useEffect, useState } from 'react';
import { errorMessage } from '../api/client';
import * as api from '../api/endpoints';
import type { Connection, Connector } from '../api/types';
import { queryParam, useLocation } from '../app/router';
import { useUser } from '../app/session';
import { ConfirmDialog } from '../ui/Dialog';
import { formatTime } from '../ui/format';
import { ErrorNotice, InfoNotice } from '../ui/Notice';
import { StatusBadge } from '../ui/StatusBadge';
import { CreateConnectionForm } from './CreateConnectionForm';
import { ReplaceSecretDialog } from './ReplaceSecretDialog';

export default function ConnectionsPage() {
  const user = useUser();
  const path = useLocation();
  const [connections, setConnections] = useState<Connection[] | null>(null);
  const [connectors, setConnectors] = useState<Connector[]>([]);
  // Back from the OAuth2 provider: the server's callback redirects here
  // with `?authorized=<id>` or `?oauth_error=<message>`.
  const [error, setError] = useState<string | null>(() => queryParam(path, 'oauth_error'));
  const [info, setInfo] = useState<string | null>(() => (queryParam(path, 'authorized') ? `Connection ${queryParam(path, 'authorized')} authorized.` : null));
  const [creating, setCreating] = useState(false);
  const [deleting, setDeleting] = useState<Connection | null>(null);
  const [replacing, setReplacing] = useState<Connection | null>(null);

  const load = useCallback(async () => {
    try {
      const [list, conns] = await Promise.all([api.listConnections(), api.listConnectors().catch(() => [] as Connector[])]);
      setConnections(list);
      setConnectors(conns);
    } catch (e) {
      setError(errorMessage(e));
    }
  }, []);

  useEffect(() => {
    void load();
  }, [load]);

  const authorize = async (c: Connection) => {
    setError(null);
    try {
      const r = await api.authorizeConnection(c.id);
      // The provider sends the browser back to the server's /oauth/callback.
      window.location.assign(r.authorize_url);
    } catch (e) {
      setError(errorMessage(e));
    }
  };

  return (
    <section aria-labelledby="connections-title">
      <div className="toolbar">
        <h1 id="connections-title">Connections</h1>
        <span className="spacer" />
        <button type="button" className="primary" onClick={() => setCreating((x) => !x)} aria-expanded={creating} data-testid="new-connection">
          New connection
        </button>
      </div>
      <ErrorNotice error={error} onDismiss={() => setError(null)} />
      {info && <InfoNotice>{info}</InfoNotice>}
      {creating && (
        <CreateConnectionForm
          connectors={connectors}
          onCancel={() => setCreating(false)}
          onCreated={(c) => {
            setCreating(false);
            setInfo(
              c.auth_kind === 'oauth2-code'
                ? `Created ${c.name}. Authorize it to finish connecting.`
                : `Created ${c.name}. Its secret is stored sealed and will not be shown again.`,
            );
            void load();
          }}
        />
      )}
      {connections === null ? (
        <p className="loading" role="status">Loading…</p>
      ) : (
        <table className="data" data-testid="connections-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Id</th>
              <th>Connector</th>
              <th>Kind</th>
              <th>Owner</th>
              <th>Status</th>
              <th>Token expires</th>
              <th>Actions</th>
            </tr>
          </thead>
          <tbody>
            {connections.length === 0 && (
              <tr>
                <td colSpan={8} className="empty">
                  No connections yet.
                </td>
              </tr>
            )}
            {connections.map((c) => {
              const own = c.owner === user.name;
              return (
                <tr key={c.id} data-testid={`connection-row-${c.id}`}>
                  <td>{c.name}</td>
                  <td className="mono">{c.id}</td>
                  <td>{c.connector}</td>
                  <td>{c.auth_kind}</td>
                  <td>{c.owner}</td>
                  <td>
                    <StatusBadge status={c.status} />
                    {c.status_reason && <div className="help">{c.status_reason}</div>}
                  </td>
                  <td>{formatTime(c.expires_at)}</td>
                  <td className="actions">
                    {own && c.auth_kind === 'oauth2-code' && (
                      <button type="button" className="small" onClick={() => void authorize(c)} aria-label={`${c.status === 'ok' ? 'Reconnect' : 'Authorize'} ${c.name}`} data-testid={`authorize-${c.id}`}>
                        {c.status === 'ok' ? 'Reconnect' : 'Authorize'}
                      </button>
                    )}
                    {own && c.auth_kind !== 'oauth2-code' && (
                      <button type="button" className="small" onClick={() => setReplacing(c)} aria-label={`Replace the secret of ${c.name}`} data-testid={`replace-secret-${c.id}`}>
                        Replace secret
                      </button>
                    )}{' '}
                    <button type="button" className="small" onClick={() => setDeleting(c)} aria-label={`Delete ${c.name}`} data-testid={`delete-connection-${c.id}`}>
                      Delete
                    </button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      <ReplaceSecretDialog
        connection={replacing}
        onClose={() => setReplacing(null)}
        onDone={(c) => {
          setReplacing(null);
          setInfo(`Replaced the secret of ${c.name}.`);
          void load();
        }}
      />
      <ConfirmDialog
        open={deleting !== null}
        title="Delete connection"
        message={`Delete ${deleting?.name} (${deleting?.id})? Blocks that use it will fail until they get another.`}
        confirmLabel="Delete"
        danger
        onCancel={() => setDeleting(null)}
        onConfirm={() => {
          const c = deleting!;
          setDeleting(null);
          api
            .deleteConnection(c.id)
            .then(() => {
              setInfo(`Deleted ${c.name}.`);
              return load();
            })
            .catch((e: unknown) => setError(errorMessage(e)));
        }}
      />
    </section>
  );
}
