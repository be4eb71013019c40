// The inspector for one block: id, description, the type's own settings
// (a schema-generated form for connector inputs), connection, on-error,
// retry and censor; the server's problems shown on the fields they name.
import { useEffect, useState } from 'react';
import { connectionKinds, connectionRequired, type Connection, type Connector, type DocBlock, type ValidationProblem } from '../api/types';
import { Link } from '../app/Link';
import { blockTitle, kindOf } from './blockKinds';
import { ConditionEditor } from './ConditionEditor';
import { AnyField, CheckboxField, SelectField, TemplateField } from './fields';
import { SchemaForm } from './SchemaForm';
import { readNumber } from './schemaFields';
import { pathsFromSchema } from './upstream';

interface Props {
  block: DocBlock;
  connector: Connector | undefined;
  connections: Connection[];
  variables: string[];
  problems: ValidationProblem[];
  idTaken: (id: string) => boolean;
  onChange: (b: DocBlock, field: string) => void;
  onRename: (to: string) => void;
  onDelete: () => void;
  onReloadConnections: () => void;
}

const ID_RULE = /^[A-Za-z0-9_-]{1,64}$/;

function byField(problems: ValidationProblem[], prefix = ''): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const p of problems) {
    if (!p.field.startsWith(prefix)) continue;
    const key = p.field.slice(prefix.length);
    m.set(key, [...(m.get(key) ?? []), p.message]);
  }
  return m;
}

function IdField({ id, idTaken, onRename }: { id: string; idTaken: (id: string) => boolean; onRename: (to: string) => void }) {
  const [text, setText] = useState(id);
  useEffect(() => setText(id), [id]);
  const error = text === id ? null : !ID_RULE.test(text) ? '1-64 letters, digits, _ or -.' : idTaken(text) ? 'Another block has this id.' : null;
  const apply = () => {
    if (text !== id && !error) onRename(text);
  };
  return (
    <div
      onBlur={apply}
      onKeyDown={(e) => {
        if (e.key === 'Enter') apply();
      }}
    >
      <TemplateField
        label="Block id"
        value={text}
        mappable={false}
        onChange={setText}
        help="References use it: {$.Id.field}. Renaming updates edges and references. Enter applies."
        errors={error ? [error] : undefined}
        testId="inspector-id"
      />
    </div>
  );
}

export function Inspector(p: Props) {
  const { block } = p;
  const all = byField(p.problems);
  const set = (patch: Partial<DocBlock>, field: string) => {
    const next = { ...block, ...patch } as DocBlock;
    for (const [k, v] of Object.entries(patch)) if (v === undefined) delete next[k];
    p.onChange(next, field);
  };
  const spec = p.connector?.blocks.find((b) => b.id === block.block);
  const needsConnection = connectionKinds(p.connector).length > 0;
  const usable = p.connections.filter((c) => c.connector === block.connector);
  const retry = block.retry ?? null;

  return (
    <div className="inspector-block" data-testid="inspector">
      <h2>
        {block.id} <small className="help">{blockTitle(block)}</small>
      </h2>
      {p.problems.length > 0 && (
        <ul className="problems" aria-label="Problems in this block" data-testid="inspector-problems">
          {p.problems.map((x, i) => (
            <li key={i}>
              <strong>{x.field}</strong>: {x.message}
            </li>
          ))}
        </ul>
      )}
      <IdField id={block.id} idTaken={p.idTaken} onRename={p.onRename} />
      <TemplateField
        label="Description"
        mappable={false}
        value={block.description ?? ''}
        onChange={(v) => set({ description: v || undefined }, 'description')}
        testId="inspector-description"
      />

      {block.type === 'connector' && (
        <fieldset>
          <legend>{spec?.name ?? block.block}</legend>
          {!p.connector && <p className="field-error">Connector {block.connector} is not installed on this server.</p>}
          {spec?.description && <p className="help">{spec.description}</p>}
          {needsConnection && (
            <SelectField
              label="Connection"
              value={block.connection ?? ''}
              options={[{ value: '', label: connectionRequired(p.connector) ? 'Choose…' : '(none: no authentication)' }, ...usable.map((c) => ({ value: c.id, label: `${c.name} (${c.status})` }))]}
              onChange={(v) => set({ connection: v || undefined }, 'connection')}
              help={usable.length === 0 ? `No ${block.connector} connection yet: create one on the Connections page.` : undefined}
              errors={all.get('connection')}
              testId="inspector-connection"
            />
          )}
          {needsConnection && (
            <div className="row">
              <Link href="/connections" target="_blank" rel="noopener">
                Manage connections (new tab)
              </Link>
              <button type="button" className="small" onClick={p.onReloadConnections} data-testid="reload-connections">
                Reload connections
              </button>
            </div>
          )}
          <SchemaForm
            schema={spec?.input_schema}
            value={(block.inputs && typeof block.inputs === 'object' ? block.inputs : {}) as Record<string, unknown>}
            onChange={(inputs, field) => set({ inputs }, `inputs.${field}`)}
            problems={byField(p.problems, 'inputs.')}
            testPrefix="input"
          />
          <details>
            <summary>All inputs as JSON</summary>
            <AnyField label="Inputs" value={block.inputs ?? {}} onChange={(v) => set({ inputs: v }, 'inputs')} errors={all.get('inputs')} testId="inspector-inputs-json" />
          </details>
          {spec?.output_schema && (
            <details>
              <summary>What it returns</summary>
              <ul className="mono help" data-testid="inspector-outputs">
                {pathsFromSchema(`$.${block.id}`, spec.output_schema).map((x) => (
                  <li key={x.ref}>
                    {x.ref}
                    {x.type ? ` (${x.type})` : ''}
                    {x.description ? `: ${x.description}` : ''}
                  </li>
                ))}
              </ul>
            </details>
          )}
          <TemplateField
            label="Connector version"
            mappable={false}
            value={block.version ?? ''}
            onChange={(v) => set({ version: v || undefined }, 'version')}
            help={`Empty: the newest installed (${p.connector?.newest ?? '?'}). 1.2.0 pins; ^1 is a range.`}
            errors={all.get('version')}
          />
        </fieldset>
      )}

      {block.type === 'condition' && <ConditionEditor block={block} onChange={p.onChange} problems={all} />}
      {block.type === 'loop' && (
        <TemplateField label="Loop over" required value={showText(block.over)} onChange={(v) => set({ over: v }, 'over')} help="The list to iterate, usually a reference." errors={all.get('over')} testId="inspector-over" />
      )}
      {block.type === 'loop-batch' && (
        <>
          <TemplateField label="Loop over" required value={showText(block.over)} onChange={(v) => set({ over: v }, 'over')} help="The list to walk in chunks." errors={all.get('over')} testId="inspector-over" />
          <TemplateField label="Chunk size" required value={block.size === undefined ? '' : String(block.size)} onChange={(v) => set({ size: readNumber(v) }, 'size')} errors={all.get('size')} testId="inspector-size" />
        </>
      )}
      {block.type === 'loop-range' && (
        <>
          <TemplateField label="From" required value={block.from === undefined ? '' : String(block.from)} onChange={(v) => set({ from: readNumber(v) }, 'from')} errors={all.get('from')} testId="inspector-from" />
          <TemplateField label="To (inclusive)" required value={block.to === undefined ? '' : String(block.to)} onChange={(v) => set({ to: readNumber(v) }, 'to')} errors={all.get('to')} testId="inspector-to" />
          <TemplateField label="Step" value={block.step === undefined ? '' : String(block.step)} onChange={(v) => set({ step: v === '' ? undefined : readNumber(v) }, 'step')} help="Omitted: 1. Negative counts down." errors={all.get('step')} testId="inspector-step" />
        </>
      )}
      {block.type === 'loop-while' && (
        <>
          <SelectField
            label="Mode"
            value={String(block.mode ?? 'while')}
            options={[
              { value: 'while', label: 'while: check before each iteration' },
              { value: 'until', label: 'until: check after each iteration' },
            ]}
            onChange={(v) => set({ mode: v }, 'mode')}
            testId="inspector-mode"
          />
          <ConditionEditor block={block} onChange={p.onChange} problems={all} />
          <TemplateField
            label="Max iterations"
            required
            mappable={false}
            value={block.max_iterations === undefined ? '' : String(block.max_iterations)}
            onChange={(v) => set({ max_iterations: readNumber(v) }, 'max_iterations')}
            help="The run fails if the loop would go past it."
            errors={all.get('max_iterations')}
            testId="inspector-max-iterations"
          />
        </>
      )}
      {block.type === 'exit-loop' && (
        <TemplateField label="Loop to leave" mappable={false} value={String(block.loop ?? '')} onChange={(v) => set({ loop: v === '' ? undefined : v }, 'loop')} help="An enclosing loop's id; empty: the innermost." errors={all.get('loop')} testId="inspector-loop" />
      )}
      {block.type === 'case' && (
        <>
          <AnyField label="Value" required value={block.value} onChange={(v) => set({ value: v }, 'value')} errors={all.get('value')} testId="inspector-value" />
          <AnyField
            label="Cases"
            required
            value={block.cases}
            onChange={(v) => set({ cases: v }, 'cases')}
            help='[{"name": "paid", "match": ["paid", "settled"]}, …]: the first case one of whose values equals the value runs; none, the default branch.'
            errors={all.get('cases')}
            testId="inspector-cases"
          />
        </>
      )}
      {block.type === 'update-run-title' && (
        <AnyField label="Title" required value={block.title} onChange={(v) => set({ title: v }, 'title')} errors={all.get('title')} testId="inspector-title" />
      )}
      {(block.type === 'state-get' || block.type === 'state-set' || block.type === 'state-increment') && (
        <AnyField label="Key" required value={block.key} onChange={(v) => set({ key: v }, 'key')} errors={all.get('key')} testId="inspector-state-key" />
      )}
      {block.type === 'state-get' && (
        <AnyField label="Default" value={block.default} onChange={(v) => set({ default: v }, 'default')} errors={all.get('default')} testId="inspector-state-default" />
      )}
      {block.type === 'state-set' && (
        <AnyField label="Value" required value={block.value} onChange={(v) => set({ value: v }, 'value')} errors={all.get('value')} testId="inspector-state-value" />
      )}
      {block.type === 'state-increment' && (
        <AnyField label="By" value={block.by} onChange={(v) => set({ by: v }, 'by')} errors={all.get('by')} testId="inspector-state-by" />
      )}
      {block.type === 'input' && (
        <>
          <AnyField label="Form title" value={block.title} onChange={(v) => set({ title: v }, 'title')} errors={all.get('title')} testId="inspector-input-title" />
          <AnyField label="Message" value={block.message} onChange={(v) => set({ message: v }, 'message')} errors={all.get('message')} testId="inspector-input-message" />
          <AnyField
            label="Form schema (JSON Schema)"
            required
            value={block.schema}
            onChange={(v) => set({ schema: v }, 'schema')}
            errors={all.get('schema')}
            testId="inspector-input-schema"
          />
          <AnyField
            label="Timeout (ms)"
            help="Omitted: a day; at most 30 days. On timeout the block fails (on_error applies) unless timeout values are set."
            value={block.timeout_ms}
            onChange={(v) => set({ timeout_ms: v === '' ? undefined : v }, 'timeout_ms')}
            errors={all.get('timeout_ms')}
            testId="inspector-input-timeout"
          />
          <AnyField
            label="Values on timeout"
            value={block.timeout_values}
            onChange={(v) => set({ timeout_values: v === '' ? undefined : v }, 'timeout_values')}
            errors={all.get('timeout_values')}
            testId="inspector-input-timeout-values"
          />
        </>
      )}
      {block.type === 'variable' && (
        <>
          <TemplateField
            label="Variable"
            required
            mappable={false}
            value={String(block.variable ?? '')}
            onChange={(v) => set({ variable: v }, 'variable')}
            help={p.variables.length ? `Declared: ${p.variables.join(', ')}` : 'Declare variables in the automation settings.'}
            errors={all.get('variable')}
            testId="inspector-variable"
          />
          <SelectField
            label="Action"
            value={String(block.action ?? 'set')}
            options={['set', 'append', 'append-all', 'merge', 'increment'].map((v) => ({ value: v, label: v }))}
            onChange={(v) => set({ action: v }, 'action')}
            errors={all.get('action')}
            testId="inspector-action"
          />
          <AnyField label="Value" value={block.value} onChange={(v) => set({ value: v }, 'value')} errors={all.get('value')} testId="inspector-value" />
        </>
      )}
      {block.type === 'output' && (
        <>
          <SelectField
            label="Mode"
            value={String(block.mode ?? 'add')}
            options={[
              { value: 'add', label: 'add: append to the output list' },
              { value: 'set', label: 'set: replace the output' },
              { value: 'merge', label: 'merge into the output object' },
            ]}
            onChange={(v) => set({ mode: v }, 'mode')}
            errors={all.get('mode')}
            testId="inspector-mode"
          />
          <AnyField label="Value" required value={block.value} onChange={(v) => set({ value: v }, 'value')} errors={all.get('value')} testId="inspector-value" />
        </>
      )}
      {block.type === 'error' && (
        <>
          <AnyField label="Message" required value={block.message} onChange={(v) => set({ message: v }, 'message')} errors={all.get('message')} testId="inspector-message" />
          <SelectField
            label="Mode"
            value={String(block.mode ?? 'fail')}
            options={[
              { value: 'fail', label: 'fail the run' },
              { value: 'warn', label: 'record a warning and go on' },
            ]}
            onChange={(v) => set({ mode: v }, 'mode')}
            testId="inspector-mode"
          />
        </>
      )}
      {block.type === 'sleep' && (
        <TemplateField label="Milliseconds" required value={block.ms === undefined ? '' : String(block.ms)} onChange={(v) => set({ ms: readNumber(v) }, 'ms')} errors={all.get('ms')} testId="inspector-ms" />
      )}
      {block.type === 'call_automation' && (
        <>
          <TemplateField label="Automation id" required mappable={false} value={String(block.automation ?? '')} onChange={(v) => set({ automation: v }, 'automation')} errors={all.get('automation')} testId="inspector-automation" />
          <SelectField
            label="Mode"
            value={String(block.mode ?? 'sync')}
            options={[
              { value: 'sync', label: 'sync: wait, its output is this block’s' },
              { value: 'async', label: 'async: start it and go on' },
            ]}
            onChange={(v) => set({ mode: v }, 'mode')}
          />
          <AnyField label="Inputs" value={block.inputs} onChange={(v) => set({ inputs: v === '' ? undefined : v }, 'inputs')} errors={all.get('inputs')} />
        </>
      )}

      {block.type !== 'start' && (
        <fieldset>
          <legend>When it fails</legend>
          <SelectField
            label="On error"
            value={block.on_error ?? ''}
            options={[
              { value: '', label: 'stop the run (default)' },
              { value: 'warning', label: 'go on, finish with warnings' },
              { value: 'ignore', label: 'go on as if nothing happened' },
            ]}
            onChange={(v) => set({ on_error: (v || undefined) as DocBlock['on_error'] }, 'on_error')}
            errors={all.get('on_error')}
            testId="inspector-on-error"
          />
          <CheckboxField
            label="Retry"
            value={retry !== null}
            onChange={(on) => set({ retry: on ? { max_attempts: 3, backoff_ms: 500 } : undefined }, 'retry')}
            testId="inspector-retry"
          />
          {retry && (
            <div className="row">
              <TemplateField label="Attempts" mappable={false} value={String(retry.max_attempts)} onChange={(v) => set({ retry: { ...retry, max_attempts: Number(v) || 0 } }, 'retry.max_attempts')} errors={all.get('retry.max_attempts')} />
              <TemplateField label="Backoff ms" mappable={false} value={String(retry.backoff_ms ?? 500)} onChange={(v) => set({ retry: { ...retry, backoff_ms: Number(v) || 0 } }, 'retry.backoff_ms')} />
              <TemplateField label="Max backoff ms" mappable={false} value={String(retry.max_backoff_ms ?? 30000)} onChange={(v) => set({ retry: { ...retry, max_backoff_ms: Number(v) || 0 } }, 'retry.max_backoff_ms')} />
            </div>
          )}
          <CheckboxField
            label="Censor (never write inputs, outputs, HTTP bodies or logs to the history)"
            value={block.censor === true}
            onChange={(v) => set({ censor: v || undefined }, 'censor')}
            testId="inspector-censor"
          />
          {(block.type === 'connector' || block.type === 'call_automation') && (
            <CheckboxField
              label="Never run twice after a crash (no idempotency key to lean on)"
              value={block.non_retryable_after_crash === true}
              onChange={(v) => set({ non_retryable_after_crash: v || undefined }, 'non_retryable_after_crash')}
            />
          )}
        </fieldset>
      )}
      {kindOf(block.type).type !== 'start' && (
        <button type="button" className="danger" onClick={p.onDelete} data-testid="inspector-delete">
          Delete block
        </button>
      )}
    </div>
  );
}

function showText(v: unknown): string {
  if (v === undefined || v === null) return '';
  return typeof v === 'string' ? v : JSON.stringify(v);
}
