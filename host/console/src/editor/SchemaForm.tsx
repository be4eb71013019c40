// A form generated from a JSON Schema (a connector block's inputs).
// Unknown keys in the value are kept; an "all inputs as JSON" editor
// covers what the form cannot express.
import type { JsonSchema } from '../api/types';
import { AnyField, CheckboxField, SelectField, TemplateField } from './fields';
import { fieldsOf, readNumber } from './schemaFields';

interface Props {
  schema: JsonSchema | undefined;
  value: Record<string, unknown>;
  onChange: (next: Record<string, unknown>, field: string) => void;
  /** Problems by field name (below the form's path prefix). */
  problems: Map<string, string[]>;
  testPrefix: string;
  /** Offer the mapping picker on text fields (default); off where values are plain data (a run's input form). */
  mappable?: boolean;
}

export function SchemaForm({ schema, value, onChange, problems, testPrefix, mappable }: Props) {
  const fields = fieldsOf(schema);
  const set = (name: string, v: unknown) => {
    const next = { ...value };
    if (v === undefined) delete next[name];
    else next[name] = v;
    onChange(next, name);
  };
  return (
    <>
      {fields.length === 0 && <p className="help">This block declares no inputs.</p>}
      {fields.map((f) => {
        const current = value[f.name];
        const common = {
          label: f.label,
          help: f.description,
          required: f.required,
          errors: problems.get(f.name),
          testId: `${testPrefix}-${f.name}`,
        };
        switch (f.kind) {
          case 'enum':
            return (
              <SelectField
                key={f.name}
                {...common}
                value={typeof current === 'string' ? current : ''}
                options={[
                  { value: '', label: f.required ? 'Choose…' : '(default)' },
                  ...f.options!.map((o) => ({ value: o, label: o })),
                  // A value from the document that is not in the list (a reference) stays visible.
                  ...(typeof current === 'string' && current !== '' && !f.options!.includes(current) ? [{ value: current, label: current }] : []),
                ]}
                onChange={(v) => set(f.name, v === '' ? undefined : v)}
              />
            );
          case 'boolean':
            return typeof current === 'string' ? (
              <TemplateField key={f.name} {...common} mappable={mappable} value={current} onChange={(v) => set(f.name, v)} />
            ) : (
              <CheckboxField key={f.name} {...common} value={current === undefined ? f.defaultValue === true : current === true} onChange={(v) => set(f.name, v)} />
            );
          case 'number':
            return (
              <TemplateField
                key={f.name}
                {...common}
                mappable={mappable}
                value={current === undefined || current === null ? '' : String(current)}
                onChange={(v) => set(f.name, readNumber(v))}
              />
            );
          case 'text':
            return (
              <TemplateField
                key={f.name}
                {...common}
                mappable={mappable}
                value={typeof current === 'string' ? current : current === undefined ? '' : JSON.stringify(current)}
                onChange={(v) => set(f.name, v === '' && !f.required ? undefined : v)}
              />
            );
          default:
            return <AnyField key={f.name} {...common} value={current} onChange={(v) => set(f.name, v === '' ? undefined : v)} />;
        }
      })}
    </>
  );
}
