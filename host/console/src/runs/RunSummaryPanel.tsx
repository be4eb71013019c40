// A run's header: status, trigger, times, error, warnings, output, Stop.
import { useState } from 'react';
import { errorMessage } from '../api/client';
import * as api from '../api/endpoints';
import type { RunRecord } from '../api/types';
import { Link } from '../app/Link';
import { formatTime, pretty, runDuration } from '../ui/format';
import { ErrorNotice } from '../ui/Notice';
import { StatusBadge } from '../ui/StatusBadge';
import { TERMINAL } from './runModel';

export function RunSummaryPanel({
  run,
  statusOnly,
  showOutput = true,
  showLink = false,
}: {
  run: RunRecord;
  statusOnly: boolean;
  showOutput?: boolean;
  showLink?: boolean;
}) {
  const [error, setError] = useState<string | null>(null);
  const [stopping, setStopping] = useState(false);
  const stop = async () => {
    setStopping(true);
    setError(null);
    try {
      await api.stopRun(run.id);
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setStopping(false);
    }
  };
  return (
    <div data-testid="run-summary">
      <h2>
        Run <span className="mono">{run.id}</span> <StatusBadge status={run.status} />
      </h2>
      {showLink && (
        <Link href={`/runs/${encodeURIComponent(run.id)}`} data-testid="open-run">
          Open the run view
        </Link>
      )}
      <dl className="kv">
        {run.title && (
          <>
            <dt>Title</dt>
            <dd data-testid="run-title">{run.title}</dd>
          </>
        )}
        <dt>Automation</dt>
        <dd>
          {run.automation_name ?? run.automation_id} {run.automation_version !== undefined && <span className="help">v{run.automation_version}</span>}
        </dd>
        <dt>Trigger</dt>
        <dd>
          {run.trigger?.kind ?? '—'}
          {run.trigger?.detail !== undefined && <span className="help mono"> {JSON.stringify(run.trigger.detail)}</span>}
        </dd>
        <dt>Started</dt>
        <dd>{formatTime(run.started_at ?? run.created_at)}</dd>
        <dt>Duration</dt>
        <dd>{runDuration(run)}</dd>
      </dl>
      {!TERMINAL.has(run.status) && (
        <button type="button" onClick={() => void stop()} disabled={stopping} data-testid="stop-run">
          Stop run
        </button>
      )}
      <ErrorNotice error={error} />
      {run.error && (
        <p className="field-error" data-testid="run-error">
          {run.error}
        </p>
      )}
      {run.warnings && run.warnings.length > 0 && (
        <ul aria-label="Warnings">
          {run.warnings.map((w, i) => (
            <li key={i}>{w}</li>
          ))}
        </ul>
      )}
      {statusOnly && <p className="help">You see this run's status only: its log belongs to its owner.</p>}
      {!statusOnly && showOutput && TERMINAL.has(run.status) && (
        <>
          <h3>Output</h3>
          <pre data-testid="run-output">{pretty(run.output)}</pre>
        </>
      )}
    </div>
  );
}
