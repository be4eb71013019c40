// The form a paused run waits for (its `input` block's), drawn from the
// block's JSON Schema: text, number, boolean and enum fields, or a JSON
// editor for schemas the fields cannot express. Submitting POSTs the
// values to /api/v1/runs/{id}/input; refused values show each field's
// problem, accepted ones resume the run.
import { useState } from 'react';
import * as api from '../api/endpoints';
import { ApiError } from '../api/client';
import type { JsonSchema, RunRecord, WaitingFor } from '../api/types';
import { SchemaForm } from '../editor/SchemaForm';
import { fieldsOf } from '../editor/schemaFields';
import { formatTime } from '../ui/format';

export function InputForm({ run, onSubmitted }: { run: RunRecord; onSubmitted: () => void }) {
  if (run.status !== 'paused' || !run.waiting_for) return null;
  return <Form key={`${run.id}-${run.waiting_for.seq}`} runId={run.id} waiting={run.waiting_for} onSubmitted={onSubmitted} />;
}

function Form({ runId, waiting, onSubmitted }: { runId: string; waiting: WaitingFor; onSubmitted: () => void }) {
  const schema = waiting.schema as JsonSchema;
  const asFields = fieldsOf(schema).length > 0;
  const [values, setValues] = useState<Record<string, unknown>>({});
  const [raw, setRaw] = useState('{}');
  const [problems, setProblems] = useState(new Map<string, string[]>());
  const [error, setError] = useState<string | null>(null);
  const [sending, setSending] = useState(false);

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    let body: unknown = values;
    if (!asFields) {
      try {
        body = JSON.parse(raw);
      } catch {
        setError('The values are not valid JSON.');
        return;
      }
    }
    setSending(true);
    setError(null);
    setProblems(new Map());
    try {
      await api.submitRunInput(runId, body);
      onSubmitted();
    } catch (err) {
      if (err instanceof ApiError && err.code === 'invalid_input') {
        const list = ((err.details as { errors?: { field: string; message: string }[] } | null)?.errors ?? []);
        const byField = new Map<string, string[]>();
        for (const p of list) byField.set(p.field, [...(byField.get(p.field) ?? []), p.message]);
        setProblems(byField);
        const general = [...(byField.get('') ?? []), ...(asFields ? [] : list.filter((p) => p.field !== '').map((p) => `${p.field}: ${p.message}`))];
        setError(general.length ? general.join('; ') : 'Some values are not valid.');
      } else {
        setError(err instanceof Error ? err.message : String(err));
      }
    } finally {
      setSending(false);
    }
  };

  return (
    <form className="input-form" aria-label="Input form" data-testid="input-form" onSubmit={(e) => void submit(e)}>
      <h3>{waiting.title ?? `Input for ${waiting.block}`}</h3>
      {waiting.message && <p>{waiting.message}</p>}
      <p className="help">
        The run waits at block {waiting.block} until {formatTime(waiting.expires_at)}.
      </p>
      {asFields ? (
        <SchemaForm schema={schema} value={values} onChange={(next) => setValues(next)} problems={problems} testPrefix="input" mappable={false} />
      ) : (
        <label>
          Values (JSON)
          <textarea data-testid="input-json" rows={6} value={raw} onChange={(e) => setRaw(e.target.value)} />
        </label>
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <button type="submit" className="primary" disabled={sending} data-testid="input-submit">
        {sending ? 'Submitting…' : 'Submit'}
      </button>
    </form>
  );
}
