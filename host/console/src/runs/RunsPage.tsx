// Run history, across automations or for one: status, trigger, started,
// duration; filters; pages that follow the API's cursors.
import { useCallback, useEffect, useState } from 'react';
import { errorMessage } from '../api/client';
import * as api from '../api/endpoints';
import type { RunSummary } from '../api/types';
import { Link } from '../app/Link';
import { formatTime, runDuration } from '../ui/format';
import { ErrorNotice } from '../ui/Notice';
import { StatusBadge } from '../ui/StatusBadge';
import { TERMINAL } from './runModel';

const STATUSES = ['queued', 'running', 'finished', 'finished-with-warnings', 'failed', 'stopped'];
const PAGE = 25;

export default function RunsPage({ automationId }: { automationId?: string }) {
  const [status, setStatus] = useState('');
  const [trigger, setTrigger] = useState('');
  // The cursors of the pages walked so far: [null, c1, c2, …].
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [page, setPage] = useState<{ items: RunSummary[]; next: string | null } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const cursor = cursors[cursors.length - 1];

  const load = useCallback(async () => {
    setError(null);
    try {
      const p = await api.listRuns({ automation: automationId, status: status || undefined, trigger: trigger.trim() || undefined, limit: PAGE, cursor });
      setPage({ items: p.items, next: p.next_cursor });
    } catch (e) {
      setError(errorMessage(e));
    }
  }, [automationId, status, trigger, cursor]);

  useEffect(() => {
    void load();
  }, [load]);

  // While a run on the page is going, refresh it every few seconds.
  useEffect(() => {
    if (!page?.items.some((r) => !TERMINAL.has(r.status))) return;
    const t = window.setTimeout(() => void load(), 3000);
    return () => window.clearTimeout(t);
  }, [page, load]);

  const stop = async (id: string) => {
    try {
      await api.stopRun(id);
      await load();
    } catch (e) {
      setError(errorMessage(e));
    }
  };

  const resetPaging = () => setCursors([null]);

  return (
    <section aria-labelledby="runs-title">
      <div className="toolbar">
        <h1 id="runs-title">{automationId ? `Runs of ${automationId}` : 'Runs'}</h1>
        {automationId && (
          <Link href={`/automations/${encodeURIComponent(automationId)}/edit`} className="button">
            Open editor
          </Link>
        )}
        <span className="spacer" />
        <label>
          Status
          <select
            value={status}
            onChange={(e) => {
              setStatus(e.target.value);
              resetPaging();
            }}
            data-testid="runs-filter-status"
          >
            <option value="">Any</option>
            {STATUSES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          Trigger
          <select
            value={trigger}
            onChange={(e) => {
              setTrigger(e.target.value);
              resetPaging();
            }}
            data-testid="runs-filter-trigger"
          >
            <option value="">Any</option>
            {['manual', 'api', 'webhook', 'schedule', 'automation', 'cli'].map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
        </label>
        <button type="button" onClick={() => void load()} data-testid="runs-refresh">
          Refresh
        </button>
      </div>
      <ErrorNotice error={error} onDismiss={() => setError(null)} />
      {!page ? (
        <p className="loading" role="status">Loading…</p>
      ) : (
        <table className="data" data-testid="runs-table">
          <thead>
            <tr>
              <th>Run</th>
              {!automationId && <th>Automation</th>}
              <th>Status</th>
              <th>Trigger</th>
              <th>Owner</th>
              <th>Started</th>
              <th>Duration</th>
              <th>Actions</th>
            </tr>
          </thead>
          <tbody>
            {page.items.length === 0 && (
              <tr>
                <td colSpan={8} className="empty">
                  No runs {cursors.length > 1 ? 'on this page' : 'yet'}.
                </td>
              </tr>
            )}
            {page.items.map((r) => (
              <tr key={r.id} data-testid={`run-row-${r.id}`}>
                <td className="mono">
                  <Link href={`/runs/${encodeURIComponent(r.id)}`}>{r.id}</Link>
                  {r.title && (
                    <div className="run-title" data-testid={`run-title-${r.id}`}>
                      {r.title}
                    </div>
                  )}
                </td>
                {!automationId && (
                  <td>
                    <Link href={`/automations/${encodeURIComponent(r.automation_id)}/runs`}>{r.automation_id}</Link>
                  </td>
                )}
                <td>
                  <StatusBadge status={r.status} />
                </td>
                <td>{r.trigger}</td>
                <td>{r.owner ?? '—'}</td>
                <td>{formatTime(r.started_at ?? r.created_at)}</td>
                <td>{runDuration(r)}</td>
                <td>
                  {!TERMINAL.has(r.status) && (
                    <button type="button" className="small" onClick={() => void stop(r.id)} aria-label={`Stop run ${r.id}`}>
                      Stop
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <nav className="toolbar" aria-label="Pages">
        <button type="button" disabled={cursors.length <= 1} onClick={() => setCursors((c) => c.slice(0, -1))} data-testid="runs-prev">
          Previous page
        </button>
        <span className="help">Page {cursors.length}</span>
        <button type="button" disabled={!page?.next} onClick={() => page?.next && setCursors((c) => [...c, page.next])} data-testid="runs-next">
          Next page
        </button>
      </nav>
    </section>
  );
}
