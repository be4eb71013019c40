// The palette's items: the standard blocks, then every connector's blocks
// from the connectors listing (their manifests), searchable by name, id
// and description.
import type { Connector, DocBlock, JsonSchema } from '../api/types';
import { freshId, STANDARD_KINDS } from './blockKinds';

export interface PaletteItem {
  /** Stable key, also the drag payload: `std:sleep`, `conn:http/request`. */
  key: string;
  group: string;
  label: string;
  description: string;
  type: string;
  connector?: string;
  block?: string;
}

export const DRAG_MIME = 'application/x-weft-block';

export function paletteItems(connectors: readonly Connector[]): PaletteItem[] {
  const items: PaletteItem[] = STANDARD_KINDS.map((k) => ({
    key: `std:${k.type}`,
    group: 'Standard blocks',
    label: k.label,
    description: k.description,
    type: k.type,
  }));
  const sorted = [...connectors].sort((a, b) => (a.display_name || a.id).localeCompare(b.display_name || b.id));
  for (const c of sorted) {
    for (const b of c.blocks) {
      items.push({
        key: `conn:${c.id}/${b.id}`,
        group: c.display_name || c.id,
        label: b.name || b.id,
        description: b.description ?? '',
        type: 'connector',
        connector: c.id,
        block: b.id,
      });
    }
  }
  return items;
}

export function searchPalette(items: readonly PaletteItem[], query: string): PaletteItem[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return [...items];
  return items.filter((i) => {
    const hay = `${i.group} ${i.label} ${i.description} ${i.connector ?? ''} ${i.block ?? ''} ${i.type}`.toLowerCase();
    return words.every((w) => hay.includes(w));
  });
}

/** Default values for an input schema's required fields (so a new block is close to valid). */
export function defaultInputs(schema: JsonSchema | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const props = (schema?.properties ?? {}) as Record<string, JsonSchema>;
  const required = Array.isArray(schema?.required) ? (schema!.required as string[]) : [];
  for (const key of required) {
    const p = props[key] ?? {};
    if ('default' in p) out[key] = p.default;
    else if (Array.isArray(p.enum) && p.enum.length > 0) out[key] = p.enum[0];
    else if (p.type === 'string') out[key] = '';
  }
  return out;
}

/** A new block for a palette item, with an id not in `taken`. */
export function newBlock(
  item: PaletteItem,
  taken: ReadonlySet<string>,
  inputSchema?: JsonSchema,
  kindTemplate?: () => Partial<DocBlock>,
): DocBlock {
  if (item.type === 'connector') {
    const base = (item.block ?? 'Block').replace(/(^|[-_])(\w)/g, (_m, _s, c: string) => c.toUpperCase());
    return {
      id: freshId(base, taken),
      type: 'connector',
      connector: item.connector,
      block: item.block,
      inputs: defaultInputs(inputSchema),
    };
  }
  const label = item.label.replace(/\s+/g, '');
  return { id: freshId(label, taken), type: item.type, ...(kindTemplate?.() ?? {}) };
}
