// The field-mapping picker: the references a block may use (upstream
// blocks' outputs from their schemas and from the last run, loop items,
// variables) and a few formulas; picking one inserts `{…}` into the field.
import { createContext, useContext, useMemo, useState } from 'react';
import { referenceText, type RefGroup } from './upstream';

export const RefGroupsContext = createContext<RefGroup[]>([]);

const FORMULAS: { label: string; text: (ref: string) => string }[] = [
  { label: 'default', text: (r) => `{default: ${r}, ''}` },
  { label: 'uppercase', text: (r) => `{uppercase: ${r}}` },
  { label: 'lowercase', text: (r) => `{lowercase: ${r}}` },
  { label: 'count', text: (r) => `{count: ${r}}` },
  { label: 'number', text: (r) => `{number: ${r}}` },
  { label: 'round', text: (r) => `{round: ${r}, 2}` },
  { label: 'date', text: (r) => `{date: ${r}, '%Y-%m-%d'}` },
];

export function MappingPicker({ onPick, onClose, fieldLabel }: { onPick: (text: string) => void; onClose: () => void; fieldLabel: string }) {
  const groups = useContext(RefGroupsContext);
  const [query, setQuery] = useState('');
  const [formula, setFormula] = useState('');
  const shown = useMemo(() => {
    const q = query.toLowerCase();
    return groups
      .map((g) => ({ ...g, paths: g.paths.filter((p) => !q || p.ref.toLowerCase().includes(q)) }))
      .filter((g) => g.paths.length > 0);
  }, [groups, query]);
  const pick = (ref: string) => {
    const f = FORMULAS.find((x) => x.label === formula);
    onPick(f ? f.text(ref) : referenceText(ref));
  };
  return (
    <div
      className="mapping-picker"
      role="dialog"
      aria-label={`Insert a reference into ${fieldLabel}`}
      data-testid="mapping-picker"
      onKeyDown={(e) => {
        if (e.key === 'Escape') {
          e.stopPropagation();
          onClose();
        }
      }}
    >
      <div className="row">
        <input type="search" placeholder="Filter" aria-label="Filter references" value={query} onChange={(e) => setQuery(e.target.value)} autoFocus />
        <select aria-label="Wrap in formula" value={formula} onChange={(e) => setFormula(e.target.value)} data-testid="mapping-formula">
          <option value="">as is</option>
          {FORMULAS.map((f) => (
            <option key={f.label} value={f.label}>
              {f.label}
            </option>
          ))}
        </select>
        <button type="button" className="small" onClick={onClose}>
          Close
        </button>
      </div>
      {shown.length === 0 && <p className="help">Nothing upstream to reference yet: connect this block below others.</p>}
      {shown.map((g) => (
        <div key={g.label}>
          <div className="group">{g.label}</div>
          <ul>
            {g.paths.map((p) => (
              <li key={p.ref}>
                <button type="button" onClick={() => pick(p.ref)} data-testid={`ref-${p.ref}`} title={p.description}>
                  {p.ref}
                  {p.type && <small>{p.type}</small>}
                  {p.source === 'run' && <small>last run</small>}
                </button>
              </li>
            ))}
          </ul>
        </div>
      ))}
    </div>
  );
}
