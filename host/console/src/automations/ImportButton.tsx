// Import an exported automation from a JSON file. When the server answers
// `connections_required`, a dialog maps each referenced connection onto
// one of the caller's (the candidates the server offers), then imports
// again with `{"automation": …, "connections": {ref: id}}`.
import { useRef, useState } from 'react';
import { ApiError, errorMessage } from '../api/client';
import * as api from '../api/endpoints';
import type { CreatedAutomation, MissingConnection } from '../api/types';
import { Link } from '../app/Link';
import { Dialog } from '../ui/Dialog';

interface Pending {
  automation: unknown;
  missing: MissingConnection[];
}

export function ImportButton({ onImported, onError }: { onImported: (c: CreatedAutomation) => void; onError: (message: string) => void }) {
  const input = useRef<HTMLInputElement>(null);
  const [pending, setPending] = useState<Pending | null>(null);
  const [map, setMap] = useState<Record<string, string>>({});

  const send = async (body: unknown, automation: unknown) => {
    try {
      onImported(await api.importAutomation(body));
      setPending(null);
    } catch (e) {
      if (e instanceof ApiError && e.code === 'connections_required') {
        const missing = (e.details as { missing?: MissingConnection[] } | undefined)?.missing ?? [];
        setMap(Object.fromEntries(missing.map((m) => [m.ref, m.candidates[0] ?? ''])));
        setPending({ automation, missing });
      } else {
        onError(errorMessage(e));
      }
    }
  };

  const onFile = async (file: File) => {
    let body: unknown;
    try {
      body = JSON.parse(await file.text());
    } catch {
      onError(`${file.name} is not JSON.`);
      return;
    }
    const automation = body && typeof body === 'object' && 'automation' in body ? (body as { automation: unknown }).automation : body;
    await send(body, automation);
  };

  const unmappable = pending?.missing.filter((m) => m.candidates.length === 0) ?? [];

  return (
    <>
      <button type="button" onClick={() => input.current?.click()} data-testid="import-automation">
        Import JSON…
      </button>
      <input
        ref={input}
        type="file"
        accept="application/json,.json"
        hidden
        aria-label="Automation file to import"
        data-testid="import-file"
        onChange={(e) => {
          const f = e.target.files?.[0];
          e.target.value = '';
          if (f) void onFile(f);
        }}
      />
      <Dialog
        open={pending !== null}
        title="Map the connections this automation uses"
        onClose={() => setPending(null)}
        testId="import-connections-dialog"
        actions={
          <>
            <button type="button" onClick={() => setPending(null)}>
              Cancel
            </button>
            <button
              type="button"
              className="primary"
              disabled={unmappable.length > 0}
              onClick={() => pending && void send({ automation: pending.automation, connections: map }, pending.automation)}
              data-testid="import-connections-submit"
            >
              Import
            </button>
          </>
        }
      >
        {pending?.missing.map((m) => (
          <label key={m.ref}>
            {m.name || m.ref} ({m.connector}
            {m.auth_kind ? `, ${m.auth_kind}` : ''})
            {m.candidates.length > 0 ? (
              <select value={map[m.ref] ?? ''} onChange={(e) => setMap((x) => ({ ...x, [m.ref]: e.target.value }))} data-testid={`import-map-${m.ref}`}>
                {m.candidates.map((c) => (
                  <option key={c}>{c}</option>
                ))}
              </select>
            ) : (
              <span className="field-error">You have no {m.connector} connection yet.</span>
            )}
          </label>
        ))}
        {unmappable.length > 0 && (
          <p>
            Create the missing connections on the <Link href="/connections">Connections</Link> page, then import again.
          </p>
        )}
      </Dialog>
    </>
  );
}
