// Form controls for block settings. Text-like fields accept `{…}`
// references (with the mapping picker); "any" fields take JSON, or plain
// text when what was typed is not JSON (so `{$.Start.x}` needs no quotes).
import { useId, useRef, useState, type ReactNode } from 'react';
import { MappingPicker } from './MappingPicker';

interface FieldShell {
  label: string;
  help?: string;
  required?: boolean;
  errors?: string[];
  testId?: string;
}

function Shell({ id, label, help, required, errors, children, extra }: FieldShell & { id: string; children: ReactNode; extra?: ReactNode }) {
  return (
    <div className="field">
      <label htmlFor={id} className={required ? 'required' : undefined}>
        {label}
      </label>
      <div className="row">{children}{extra}</div>
      {help && (
        <span className="help" id={`${id}-help`}>
          {help}
        </span>
      )}
      {errors?.map((e) => (
        <span key={e} className="field-error" role="alert" data-testid="field-error">
          {e}
        </span>
      ))}
    </div>
  );
}

/** Text with references: a Map button opens the picker and inserts at the caret. */
export function TemplateField(p: FieldShell & { value: string; onChange: (v: string) => void; multiline?: boolean; mappable?: boolean }) {
  const id = useId();
  const [picking, setPicking] = useState(false);
  const ref = useRef<HTMLInputElement & HTMLTextAreaElement>(null);
  const caret = useRef<number | null>(null);
  const insert = (text: string) => {
    const at = caret.current ?? p.value.length;
    p.onChange(p.value.slice(0, at) + text + p.value.slice(at));
    caret.current = at + text.length;
    setPicking(false);
    ref.current?.focus();
  };
  const common = {
    id,
    ref,
    value: p.value,
    'aria-describedby': p.help ? `${id}-help` : undefined,
    'aria-invalid': p.errors && p.errors.length > 0 ? true : undefined,
    'data-testid': p.testId,
    onChange: (e: { target: { value: string; selectionStart: number | null } }) => {
      caret.current = e.target.selectionStart;
      p.onChange(e.target.value);
    },
    onSelect: (e: { currentTarget: { selectionStart: number | null } }) => {
      caret.current = e.currentTarget.selectionStart;
    },
  };
  return (
    <>
      <Shell
        {...p}
        id={id}
        extra={
          p.mappable !== false && (
            <button
              type="button"
              className="small"
              style={{ flex: '0 0 auto' }}
              aria-expanded={picking}
              aria-label={`Map a field into ${p.label}`}
              onClick={() => setPicking((x) => !x)}
              data-testid={p.testId ? `${p.testId}-map` : undefined}
            >
              Map
            </button>
          )
        }
      >
        {p.multiline ? <textarea {...common} /> : <input {...common} />}
      </Shell>
      {picking && <MappingPicker fieldLabel={p.label} onPick={insert} onClose={() => setPicking(false)} />}
    </>
  );
}

export function SelectField(p: FieldShell & { value: string; options: { value: string; label: string }[]; onChange: (v: string) => void }) {
  const id = useId();
  return (
    <Shell {...p} id={id}>
      <select id={id} value={p.value} onChange={(e) => p.onChange(e.target.value)} data-testid={p.testId} aria-describedby={p.help ? `${id}-help` : undefined}>
        {p.options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
    </Shell>
  );
}

export function CheckboxField(p: FieldShell & { value: boolean; onChange: (v: boolean) => void }) {
  const id = useId();
  return (
    <div className="field">
      <label className="inline" htmlFor={id}>
        <input id={id} type="checkbox" checked={p.value} onChange={(e) => p.onChange(e.target.checked)} data-testid={p.testId} />
        {p.label}
      </label>
      {p.help && <span className="help">{p.help}</span>}
      {p.errors?.map((e) => (
        <span key={e} className="field-error" role="alert">
          {e}
        </span>
      ))}
    </div>
  );
}

/** Shows a value for editing: strings as they are, anything else as JSON. */
export function showAny(v: unknown): string {
  if (v === undefined) return '';
  if (typeof v === 'string') return v;
  return JSON.stringify(v, null, 2);
}

/** Reads an edited value back: JSON if it parses, else the text itself. */
export function readAny(text: string): unknown {
  const t = text.trim();
  if (t === '') return '';
  try {
    return JSON.parse(t);
  } catch {
    return text;
  }
}

/** A value of any JSON type (output values, variable values, free-form inputs). */
export function AnyField(p: FieldShell & { value: unknown; onChange: (v: unknown) => void }) {
  // Keep the text while typing so `{"a": ` is not reformatted mid-edit.
  const [text, setText] = useState(() => showAny(p.value));
  const [last, setLast] = useState(p.value);
  if (last !== p.value) {
    // Changed from outside (undo, a picked reference): show it, unless the
    // text already says the same thing (then keep the user's formatting).
    setLast(p.value);
    if (JSON.stringify(readAny(text)) !== JSON.stringify(p.value)) setText(showAny(p.value));
  }
  return (
    <TemplateField
      {...p}
      multiline
      help={p.help ?? 'JSON, or text with {…} references.'}
      value={text}
      onChange={(t) => {
        setText(t);
        const v = readAny(t);
        setLast(v);
        p.onChange(v);
      }}
    />
  );
}

/** A JSON object (variables): committed only when it parses as an object. */
export function JsonObjectField(p: FieldShell & { value: Record<string, unknown>; onChange: (v: Record<string, unknown>) => void }) {
  const id = useId();
  const [text, setText] = useState(() => JSON.stringify(p.value, null, 2));
  const [error, setError] = useState<string | null>(null);
  const [last, setLast] = useState(p.value);
  if (last !== p.value) {
    // Changed from outside (undo, reload): show the new value.
    setLast(p.value);
    if (!error) setText(JSON.stringify(p.value, null, 2));
  }
  return (
    <Shell {...p} id={id} errors={[...(error ? [error] : []), ...(p.errors ?? [])]}>
      <textarea
        id={id}
        className="mono"
        rows={4}
        value={text}
        data-testid={p.testId}
        aria-invalid={error ? true : undefined}
        aria-describedby={p.help ? `${id}-help` : undefined}
        onChange={(e) => {
          setText(e.target.value);
          try {
            const v: unknown = JSON.parse(e.target.value || '{}');
            if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
            setError(null);
            setLast(v as Record<string, unknown>);
            p.onChange(v as Record<string, unknown>);
          } catch {
            setError('Not a JSON object yet: the last valid value is kept.');
          }
        }}
      />
    </Shell>
  );
}
