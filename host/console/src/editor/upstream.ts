// What a block may reference: the blocks that ran before it on its path
// (its ancestors in the tree), the enclosing loops' items, and the
// document's variables, each with the paths known from the connector's
// output schema and from the outputs of the last run.
import type { JsonSchema } from '../api/types';
import { branchOf, type BlockEdge, type BlockNode } from './graph';
import { resolveSchema } from './schemaFields';

export interface RefPath {
  /** The reference without braces: `$.GetRates.body.rates`, `item.total`. */
  ref: string;
  /** Where it was learned. */
  source: 'schema' | 'run' | 'block';
  type?: string;
  description?: string;
}

export interface RefGroup {
  label: string;
  paths: RefPath[];
}

export interface UpstreamBlock {
  id: string;
  /** The block is a loop and the selected block is inside its body. */
  inLoopBody: boolean;
}

/** Ancestors of `id`, nearest first. */
export function ancestors(edges: readonly BlockEdge[], id: string): UpstreamBlock[] {
  const parentEdge = new Map<string, BlockEdge>();
  for (const e of edges) parentEdge.set(e.target, e);
  const out: UpstreamBlock[] = [];
  const seen = new Set<string>([id]);
  for (let e = parentEdge.get(id); e && !seen.has(e.source); e = parentEdge.get(e.source)) {
    seen.add(e.source);
    out.push({ id: e.source, inLoopBody: branchOf(e) === 'body' });
  }
  return out;
}

/** The block types that have a body walked once per iteration. */
export const LOOP_TYPES: readonly string[] = ['loop', 'loop-range', 'loop-while', 'loop-batch'];

const MAX_DEPTH = 4;
const MAX_PATHS = 60;

function schemaType(s: JsonSchema): string | undefined {
  const t = s.type;
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) return t.filter((x) => x !== 'null').join('|');
  return undefined;
}

/** Paths below `root` described by a JSON Schema (objects' properties, arrays' first item). */
export function pathsFromSchema(
  root: string,
  raw: JsonSchema | undefined,
  depth = 0,
  out: RefPath[] = [],
  doc: JsonSchema | undefined = raw,
): RefPath[] {
  if (!raw || typeof raw !== 'object' || !doc || out.length >= MAX_PATHS || depth > MAX_DEPTH) return out;
  const schema = resolveSchema(raw, doc);
  const props = schema.properties as Record<string, JsonSchema> | undefined;
  if (props && typeof props === 'object') {
    for (const [key, sub] of Object.entries(props)) {
      if (out.length >= MAX_PATHS) break;
      const ref = /^[A-Za-z_][A-Za-z0-9_-]*$/.test(key) ? `${root}.${key}` : `${root}["${key}"]`;
      const resolved = resolveSchema(sub, doc);
      out.push({
        ref,
        source: 'schema',
        type: schemaType(resolved),
        description: typeof resolved.description === 'string' ? resolved.description : undefined,
      });
      pathsFromSchema(ref, resolved, depth + 1, out, doc);
    }
  }
  const items = schema.items as JsonSchema | undefined;
  if (items && typeof items === 'object' && !Array.isArray(items)) {
    const ref = `${root}[0]`;
    const resolved = resolveSchema(items, doc);
    out.push({ ref, source: 'schema', type: schemaType(resolved) });
    pathsFromSchema(ref, resolved, depth + 1, out, doc);
  }
  return out;
}

function valueType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/** Paths below `root` present in an actual value (a past output). */
export function pathsFromValue(root: string, value: unknown, depth = 0, out: RefPath[] = []): RefPath[] {
  if (out.length >= MAX_PATHS || depth > MAX_DEPTH) return out;
  if (Array.isArray(value)) {
    if (value.length > 0) {
      const ref = `${root}[0]`;
      out.push({ ref, source: 'run', type: valueType(value[0]) });
      pathsFromValue(ref, value[0], depth + 1, out);
    }
  } else if (value && typeof value === 'object') {
    for (const [key, sub] of Object.entries(value as Record<string, unknown>)) {
      if (out.length >= MAX_PATHS) break;
      const ref = /^[A-Za-z_][A-Za-z0-9_-]*$/.test(key) ? `${root}.${key}` : `${root}["${key}"]`;
      out.push({ ref, source: 'run', type: valueType(sub) });
      pathsFromValue(ref, sub, depth + 1, out);
    }
  }
  return out;
}

export interface UpstreamContext {
  nodes: readonly BlockNode[];
  edges: readonly BlockEdge[];
  variables: Record<string, unknown> | undefined;
  /** Output schema of a connector block, by `connector/block`. */
  outputSchema: (connector: string, block: string) => JsonSchema | undefined;
  /** The last run: each block's output (first step), and the run input. */
  lastOutputs?: ReadonlyMap<string, unknown>;
  lastInput?: unknown;
}

function merge(a: RefPath[], b: RefPath[]): RefPath[] {
  const seen = new Set(a.map((p) => p.ref));
  return [...a, ...b.filter((p) => !seen.has(p.ref))];
}

export function referenceGroups(ctx: UpstreamContext, blockId: string): RefGroup[] {
  const byId = new Map(ctx.nodes.map((n) => [n.id, n]));
  const groups: RefGroup[] = [];
  let innermostLoop = true;
  for (const up of ancestors(ctx.edges, blockId)) {
    const node = byId.get(up.id);
    if (!node) continue;
    const block = node.data.block;
    if (LOOP_TYPES.includes(block.type) && up.inLoopBody) {
      // A loop-while has no item, only its iteration index.
      const hasItem = block.type !== 'loop-while';
      const itemPaths: RefPath[] = [
        ...(hasItem ? [{ ref: `$.${up.id}.item`, source: 'block' as const, description: 'the current item' }] : []),
        { ref: `$.${up.id}.index`, source: 'block', type: 'integer', description: 'the current index' },
      ];
      if (innermostLoop && hasItem) itemPaths.unshift({ ref: 'item', source: 'block', description: "the innermost loop's item" });
      innermostLoop = false;
      groups.push({ label: `${up.id} (loop item)`, paths: itemPaths });
      continue;
    }
    if (LOOP_TYPES.includes(block.type) || ['condition', 'stop', 'exit-loop'].includes(block.type)) continue;
    const root = `$.${up.id}`;
    let paths: RefPath[] = [{ ref: root, source: 'block', description: 'the whole output' }];
    if (block.type === 'connector' && block.connector && block.block) {
      paths = merge(paths, pathsFromSchema(root, ctx.outputSchema(block.connector, block.block)));
    }
    if (block.type === 'start' && ctx.lastInput !== undefined) {
      paths = merge(paths, pathsFromValue(root, ctx.lastInput));
    } else if (ctx.lastOutputs?.has(up.id)) {
      paths = merge(paths, pathsFromValue(root, ctx.lastOutputs.get(up.id)));
    }
    groups.push({ label: block.type === 'start' ? 'Start (trigger payload)' : up.id, paths });
  }
  const vars = Object.keys(ctx.variables ?? {});
  if (vars.length > 0) {
    groups.push({
      label: 'Variables',
      paths: vars.map((v) => ({ ref: `$.${v}`, source: 'block' as const, description: 'variable' })),
    });
  }
  return groups;
}

/** The text a picked reference inserts. */
export const referenceText = (ref: string) => `{${ref}}`;
