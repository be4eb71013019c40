// The palette: drag an item onto the canvas, or press Enter on it (the
// keyboard path) to add it below the selection.
import { memo, useMemo, useState } from 'react';
import { DRAG_MIME, searchPalette, type PaletteItem } from './palette';

export const Palette = memo(function Palette({
  items,
  onAdd,
}: {
  items: PaletteItem[];
  onAdd: (key: string) => void;
}) {
  const [query, setQuery] = useState('');
  const shown = useMemo(() => searchPalette(items, query), [items, query]);
  const groups = useMemo(() => {
    const m = new Map<string, PaletteItem[]>();
    for (const i of shown) m.set(i.group, [...(m.get(i.group) ?? []), i]);
    return [...m.entries()];
  }, [shown]);
  return (
    <aside className="palette" aria-label="Blocks palette" data-testid="palette">
      <input
        type="search"
        placeholder="Search blocks"
        aria-label="Search blocks"
        value={query}
        onChange={(e) => setQuery(e.target.value)}
        data-testid="palette-search"
      />
      {groups.length === 0 && <p className="help">No block matches.</p>}
      {groups.map(([group, list]) => (
        <section key={group} aria-label={group}>
          <h3>{group}</h3>
          <ul>
            {list.map((i) => (
              <li key={i.key}>
                {/* A div, not a <button>: Firefox does not drag buttons. */}
                <div
                  role="button"
                  tabIndex={0}
                  className="palette-item"
                  draggable
                  onDragStart={(e) => {
                    e.dataTransfer.setData(DRAG_MIME, i.key);
                    e.dataTransfer.setData('text/plain', i.key);
                    e.dataTransfer.effectAllowed = 'copy';
                  }}
                  onClick={() => onAdd(i.key)}
                  onKeyDown={(e) => {
                    if (e.key === 'Enter' || e.key === ' ') {
                      e.preventDefault();
                      onAdd(i.key);
                    }
                  }}
                  title={`${i.description} (drag onto the canvas, or press Enter to add)`}
                  aria-label={`${i.label}${i.connector ? ` (${i.group})` : ''}: add to the canvas`}
                  data-testid={`palette-${i.key}`}
                >
                  {i.label}
                  {i.description && <small>{i.description}</small>}
                </div>
              </li>
            ))}
          </ul>
        </section>
      ))}
    </aside>
  );
});
