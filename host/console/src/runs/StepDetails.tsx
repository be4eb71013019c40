// What a block did in a run: one entry per step (per loop iteration), with
// status, attempts, timing, resolved input, output, error, logs and HTTP
// calls. Censored blocks show that they were censored, never contents.
import { memo } from 'react';
import { Link } from '../app/Link';
import type { HttpCall, StepRecord } from '../api/types';
import { formatBytes, formatDuration, pretty } from '../ui/format';
import { StatusBadge } from '../ui/StatusBadge';

function HttpCalls({ calls }: { calls: HttpCall[] }) {
  return (
    <details>
      <summary>HTTP calls ({calls.length})</summary>
      <ul className="step-list">
        {calls.map((c, i) => (
          <li key={i}>
            <div className="mono">
              {c.method} {c.url} → {c.status ?? c.error ?? '?'} ({formatDuration(c.duration_us / 1000)})
            </div>
            <details>
              <summary>Headers and bodies</summary>
              <h4>Request headers</h4>
              <pre>{c.request_headers.map(([k, v]) => `${k}: ${v}`).join('\n')}</pre>
              {c.request_body !== null && (
                <>
                  <h4>Request body</h4>
                  <pre>{c.request_body}</pre>
                </>
              )}
              <h4>Response headers</h4>
              <pre>{c.response_headers.map(([k, v]) => `${k}: ${v}`).join('\n')}</pre>
              {c.response_body !== null && (
                <>
                  <h4>Response body</h4>
                  <pre>{c.response_body}</pre>
                </>
              )}
            </details>
          </li>
        ))}
      </ul>
    </details>
  );
}

export const StepDetails = memo(function StepDetails({ steps }: { steps: StepRecord[] }) {
  if (steps.length === 0) return <p className="help">This block has no step in this run (it did not run, or not yet).</p>;
  return (
    <ul className="step-list" data-testid="step-details">
      {steps.map((s) => (
        <li key={s.seq} data-testid={`step-${s.seq}`}>
          <div>
            <strong>{s.block_id}</strong> <StatusBadge status={s.status} /> {s.censored && <span className="badge badge-censored" data-testid="censored">censored</span>}{' '}
            {s.iteration && s.iteration.length > 0 && <span className="help">iteration {s.iteration.join('.')}</span>}
          </div>
          <dl className="kv">
            <dt>Step</dt>
            <dd>#{s.seq}</dd>
            <dt>Attempts</dt>
            <dd>{s.attempts}</dd>
            <dt>Duration</dt>
            <dd>{formatDuration(s.duration_us / 1000)}</dd>
            {s.target && (
              <>
                <dt>Target</dt>
                <dd className="mono">
                  {s.target}
                  {s.connector_version ? `@${s.connector_version}` : ''}
                </dd>
              </>
            )}
            {s.fuel_used !== null && (
              <>
                <dt>Fuel</dt>
                <dd>{s.fuel_used}</dd>
              </>
            )}
            <dt>Sizes</dt>
            <dd>
              in {formatBytes(s.input_bytes)}, out {formatBytes(s.output_bytes)}
            </dd>
            {s.child_run_id && (
              <>
                <dt>Child run</dt>
                <dd>
                  <Link href={`/runs/${encodeURIComponent(s.child_run_id)}`}>{s.child_run_id}</Link>
                </dd>
              </>
            )}
          </dl>
          {s.error && (
            <p className="field-error" data-testid="step-error">
              {s.error}
            </p>
          )}
          {s.censored ? (
            <p className="help">Inputs, outputs, HTTP bodies and logs of this block are never written to the history.</p>
          ) : (
            <>
              <h4>Input</h4>
              <pre data-testid="step-input">{pretty(s.input)}</pre>
              <h4>Output</h4>
              <pre data-testid="step-output">{pretty(s.output)}</pre>
              {s.logs.length > 0 && (
                <details open>
                  <summary>Logs ({s.logs.length})</summary>
                  <pre>{s.logs.map((l) => `${(l.at_us / 1000).toFixed(1)} ms ${l.level.toUpperCase()} ${l.message}`).join('\n')}</pre>
                </details>
              )}
            </>
          )}
          {s.http_calls.length > 0 && <HttpCalls calls={s.http_calls} />}
        </li>
      ))}
    </ul>
  );
});
