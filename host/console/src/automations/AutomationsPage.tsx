// The automations list: the governance view (admins see every user's
// automations with their last run), with search, filters, sortable
// columns and the per-row actions.
import { useCallback, useEffect, useMemo, useState } from 'react';
import { ApiError, errorMessage } from '../api/client';
import * as api from '../api/endpoints';
import type { Automation, RunSummary } from '../api/types';
import { navigate } from '../app/router';
import { useUser } from '../app/session';
import { ConfirmDialog } from '../ui/Dialog';
import { download } from '../ui/format';
import { ErrorNotice, InfoNotice } from '../ui/Notice';
import { AutomationsTable } from './AutomationsTable';
import { CreateDialog } from './CreateDialog';
import { ImportButton } from './ImportButton';
import { filterRows, idFromName, lastRuns, NO_FILTERS, sortRows, type Filters, type SortKey } from './listModel';
import { ReassignDialog } from './ReassignDialog';
import { SecretsDialog } from './SecretsDialog';
import { rememberSecrets } from './secrets';

type Created = { id: string; execution_token?: string; webhook_path?: string };

export function AutomationsPage() {
  const user = useUser();
  const [automations, setAutomations] = useState<Automation[] | null>(null);
  const [runs, setRuns] = useState<RunSummary[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [info, setInfo] = useState<string | null>(null);
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  const [sort, setSort] = useState<{ key: SortKey; desc: boolean }>({ key: 'name', desc: false });
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<Created | null>(null);
  const [deleting, setDeleting] = useState<Automation | null>(null);

  const load = useCallback(async () => {
    try {
      const [all, recent] = await Promise.all([
        api.allPages((cursor) => api.listAutomations({ limit: 500, cursor })),
        // The newest 500 runs give each active automation its last run;
        // older ones show as "never run" (the API has no last-run field).
        api.listRuns({ limit: 500 }).then((p) => p.items),
      ]);
      setAutomations(all);
      setRuns(recent);
    } catch (e) {
      setError(errorMessage(e));
    }
  }, []);

  useEffect(() => {
    void load();
  }, [load]);

  const last = useMemo(() => lastRuns(runs), [runs]);
  const rows = useMemo(() => {
    const all = (automations ?? []).map((a) => ({ automation: a, lastRun: last.get(a.id) ?? null }));
    return sortRows(filterRows(all, filters), sort.key, sort.desc);
  }, [automations, last, filters, sort]);
  const owners = useMemo(() => [...new Set((automations ?? []).map((a) => a.owner))].sort(), [automations]);
  const taken = useMemo(() => new Set((automations ?? []).map((a) => a.id)), [automations]);

  const act = async (what: () => Promise<unknown>, done?: string) => {
    setError(null);
    setInfo(null);
    try {
      await what();
      if (done) setInfo(done);
      await load();
    } catch (e) {
      setError(errorMessage(e));
    }
  };

  const onCreated = (c: Created) => {
    rememberSecrets(c.id, c);
    setCreated(c);
    void load();
  };

  const duplicate = (a: Automation) =>
    act(async () => {
      const doc = await api.exportAutomation(a.id);
      const id = idFromName(`${a.id}-copy`, taken);
      const { connections: _c, version: _v, owner: _o, ...rest } = doc;
      const c = await api.createAutomation({ ...rest, id, name: `Copy of ${doc.name}` } as typeof doc);
      onCreated(c);
    }, `Duplicated ${a.id}.`);

  const exportOne = (a: Automation) =>
    act(async () => {
      const doc = await api.exportAutomation(a.id);
      download(`${a.id}.json`, `${JSON.stringify(doc, null, 2)}\n`);
    });

  const [reassigning, setReassigning] = useState<Automation | null>(null);
  const [userNames, setUserNames] = useState<string[]>([]);
  const reassign = (a: Automation) => {
    setReassigning(a);
    // Offer every user's name (admins may list users); owners seen are the fallback.
    api
      .listUsers()
      .then((u) => setUserNames(u.items.map((x) => x.name)))
      .catch(() => setUserNames(owners));
  };

  const set = <K extends keyof Filters>(k: K, v: Filters[K]) => setFilters((f) => ({ ...f, [k]: v }));

  return (
    <section aria-labelledby="automations-title">
      <div className="toolbar">
        <h1 id="automations-title">Automations</h1>
        <span className="spacer" />
        <button type="button" className="primary" onClick={() => setCreating(true)} data-testid="create-automation">
          New automation
        </button>
        <ImportButton
          onImported={onCreated}
          onError={(e) => setError(e)}
        />
      </div>
      <div className="toolbar" role="search">
        <label>
          Search
          <input type="search" value={filters.search} onChange={(e) => set('search', e.target.value)} data-testid="filter-search" placeholder="id, name, description" />
        </label>
        <label>
          Owner
          <select value={filters.owner} onChange={(e) => set('owner', e.target.value)} data-testid="filter-owner">
            <option value="">Any</option>
            {owners.map((o) => (
              <option key={o}>{o}</option>
            ))}
          </select>
        </label>
        <label>
          Enabled
          <select value={filters.enabled} onChange={(e) => set('enabled', e.target.value as Filters['enabled'])} data-testid="filter-enabled">
            <option value="all">Any</option>
            <option value="enabled">Enabled</option>
            <option value="disabled">Disabled</option>
          </select>
        </label>
        <label>
          Run mode
          <select value={filters.runMode} onChange={(e) => set('runMode', e.target.value as Filters['runMode'])} data-testid="filter-run-mode">
            <option value="all">Any</option>
            <option value="manual">Manual</option>
            <option value="schedule">Schedule</option>
            <option value="webhook">Webhook</option>
            <option value="api">API</option>
          </select>
        </label>
        <label>
          Last run
          <select value={filters.lastStatus} onChange={(e) => set('lastStatus', e.target.value as Filters['lastStatus'])} data-testid="filter-last-status">
            <option value="all">Any</option>
            <option value="never">Never run</option>
            {(['queued', 'running', 'finished', 'finished-with-warnings', 'failed', 'stopped'] as const).map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <button type="button" onClick={() => setFilters(NO_FILTERS)}>
          Clear filters
        </button>
      </div>
      <ErrorNotice error={error} onDismiss={() => setError(null)} />
      {info && <InfoNotice>{info}</InfoNotice>}
      {automations === null ? (
        <p className="loading" role="status">Loading…</p>
      ) : (
        <AutomationsTable
          rows={rows}
          sort={sort}
          onSort={(key) => setSort((s) => ({ key, desc: s.key === key ? !s.desc : false }))}
          isAdmin={user.role === 'admin'}
          currentUser={user.name}
          onEdit={(a) => navigate(`/automations/${encodeURIComponent(a.id)}/edit`)}
          onRuns={(a) => navigate(`/automations/${encodeURIComponent(a.id)}/runs`)}
          onToggle={(a) => act(() => api.patchAutomation(a.id, { enabled: !a.enabled }), `${a.id} ${a.enabled ? 'disabled' : 'enabled'}.`)}
          onExport={exportOne}
          onDuplicate={duplicate}
          onDelete={setDeleting}
          onReassign={reassign}
        />
      )}
      <CreateDialog
        open={creating}
        taken={taken}
        onClose={() => setCreating(false)}
        onCreated={(c) => {
          setCreating(false);
          rememberSecrets(c.id, c);
          navigate(`/automations/${encodeURIComponent(c.id)}/edit`);
        }}
      />
      <SecretsDialog created={created} onClose={() => setCreated(null)} />
      <ReassignDialog
        automation={reassigning}
        owners={userNames}
        onClose={() => setReassigning(null)}
        onReassign={(a, owner) => {
          setReassigning(null);
          void act(() => api.patchAutomation(a.id, { owner }), `${a.id} now belongs to ${owner}.`);
        }}
      />
      <ConfirmDialog
        open={deleting !== null}
        title="Delete automation"
        message={
          <>
            Delete <strong>{deleting?.name ?? deleting?.id}</strong> ({deleting?.id})? Its triggers stop at once. This cannot be undone.
          </>
        }
        confirmLabel="Delete"
        danger
        onCancel={() => setDeleting(null)}
        onConfirm={() => {
          const a = deleting!;
          setDeleting(null);
          void act(() => api.deleteAutomation(a.id), `Deleted ${a.id}.`).catch((e: unknown) => {
            if (e instanceof ApiError) setError(e.message);
          });
        }}
      />
    </section>
  );
}
