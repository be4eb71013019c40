// The loaded connectors (admins): versions, declared hosts, auth kinds,
// and their grants (the hosts they may reach), editable.
import { useCallback, useEffect, useState } from 'react';
import { errorMessage } from '../api/client';
import * as api from '../api/endpoints';
import type { Connector } from '../api/types';
import { ErrorNotice, InfoNotice } from '../ui/Notice';

function GrantsEditor({ connector, onSaved }: { connector: Connector; onSaved: (msg: string) => void }) {
  const [text, setText] = useState((connector.grants?.allow ?? []).join('\n'));
  const [error, setError] = useState<string | null>(null);
  const save = async () => {
    setError(null);
    try {
      const allow = text
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean);
      await api.setConnectorGrants(connector.id, { allow, limits: connector.grants?.limits ?? null });
      onSaved(`Grants of ${connector.id} saved.`);
    } catch (e) {
      setError(errorMessage(e));
    }
  };
  return (
    <div>
      <label>
        Allowed hosts (one per line, e.g. https://api.example.com or https://*.example.com)
        <textarea className="mono" value={text} onChange={(e) => setText(e.target.value)} data-testid={`grants-${connector.id}`} />
      </label>
      <ErrorNotice error={error} />
      <button type="button" onClick={() => void save()} data-testid={`save-grants-${connector.id}`}>
        Save grants
      </button>
    </div>
  );
}

export function ConnectorsPanel() {
  const [connectors, setConnectors] = useState<Connector[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [info, setInfo] = useState<string | null>(null);
  const load = useCallback(async () => {
    try {
      setConnectors(await api.listConnectors());
    } catch (e) {
      setError(errorMessage(e));
    }
  }, []);
  useEffect(() => {
    void load();
  }, [load]);
  return (
    <section aria-labelledby="connectors-title">
      <h2 id="connectors-title">Connectors</h2>
      <ErrorNotice error={error} onDismiss={() => setError(null)} />
      {info && <InfoNotice>{info}</InfoNotice>}
      {connectors === null ? (
        <p className="loading" role="status">Loading…</p>
      ) : (
        <div className="cards">
          {connectors.map((c) => (
            <article key={c.id} className="card" aria-labelledby={`conn-${c.id}`} data-testid={`connector-${c.id}`}>
              <h3 id={`conn-${c.id}`}>
                {c.display_name || c.id} <span className="help mono">{c.id}</span>
              </h3>
              <p className="help">{c.description}</p>
              <dl className="kv">
                <dt>Versions</dt>
                <dd>{c.versions.map((v) => `${v.version} (${v.source}${v.signed ? ', signed' : ''}${v.publisher ? `, ${v.publisher}` : ''})`).join('; ') || c.newest}</dd>
                <dt>Blocks</dt>
                <dd>{c.blocks.map((b) => b.id).join(', ')}</dd>
                <dt>Declared hosts</dt>
                <dd className="mono">{c.hosts.join(', ') || 'none'}</dd>
                <dt>Auth</dt>
                <dd>{c.auth.map((a) => a.kind).join(', ') || 'none'}</dd>
              </dl>
              {c.grants !== undefined && <GrantsEditor connector={c} onSaved={(m) => {
                setInfo(m);
                void load();
              }} />}
            </article>
          ))}
        </div>
      )}
    </section>
  );
}
