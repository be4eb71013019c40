// Import an exported automation from a JSON file. When the server answers
// `connections_required`, the missing connections are listed so the user
// knows what to create first.
import { useRef } from 'react';
import { ApiError, errorMessage } from '../api/client';
import * as api from '../api/endpoints';
import type { CreatedAutomation, MissingConnection } from '../api/types';

export function ImportButton({ onImported, onError }: { onImported: (c: CreatedAutomation) => void; onError: (message: string) => void }) {
  const input = useRef<HTMLInputElement>(null);

  const onFile = async (file: File) => {
    let body: unknown;
    try {
      body = JSON.parse(await file.text());
    } catch {
      onError(`${file.name} is not JSON.`);
      return;
    }
    try {
      onImported(await api.importAutomation(body));
    } catch (e) {
      if (e instanceof ApiError && e.code === 'connections_required') {
        const missing = ((e.details as { missing?: MissingConnection[] } | undefined)?.missing ?? [])
          .map((m) => `${m.ref} (${m.connector}${m.auth_kind ? `, ${m.auth_kind}` : ''})`)
          .join(', ');
        onError(`${e.message} Missing: ${missing}. Create them on the Connections page, then import again.`);
      } else {
        onError(errorMessage(e));
      }
    }
  };

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
    </>
  );
}
