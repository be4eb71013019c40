// The automation document ⇄ React Flow nodes and edges, as pure functions.
//
// A node's id is its block's id and its data holds the whole block object
// (minus `ui`, which becomes the node's position), so fields the console
// does not know survive an edit. An edge remembers whether the document
// spelled `branch: "next"` out, so an untouched document round-trips to
// the same JSON.
import { Position, type Edge, type Node, type NodeHandle } from '@xyflow/react';
import { branchesOf, branchLabel } from './blockKinds';
import type { AutomationDocument, AutomationDocumentFields, Branch, DocBlock, DocEdge } from '../api/types';

export type StepState = 'running' | 'succeeded' | 'failed' | 'warning' | 'ignored' | 'skipped';

export interface BlockData extends Record<string, unknown> {
  block: DocBlock;
  /** Live or historical run status of the block, if a run is shown. */
  status?: StepState;
  /** How many steps the block wrote (loops write one per iteration). */
  stepCount?: number;
  /** Validation problems the server named for this block. */
  problems?: string[];
}

export interface EdgeData extends Record<string, unknown> {
  /** The document wrote `"branch"` explicitly (kept for exact round-trips). */
  explicit: boolean;
}

export type BlockNode = Node<BlockData, 'block'>;
export type BlockEdge = Edge<EdgeData>;

/** Everything in the document except its blocks and edges. */
export type DocMeta = AutomationDocumentFields & { [key: string]: unknown };

export const NODE_WIDTH = 220;
export const NODE_HEIGHT = 68;

export function edgeId(from: string, branch: Branch, to: string): string {
  return `${from}:${branch}->${to}`;
}

export function makeEdge(from: string, branch: Branch, to: string, explicit = branch !== 'next'): BlockEdge {
  return {
    id: edgeId(from, branch, to),
    source: from,
    sourceHandle: branch,
    target: to,
    targetHandle: 'in',
    label: branch === 'next' ? undefined : branchLabel(branch),
    className: `edge-${branch.startsWith('case:') ? 'case' : branch}`,
    data: { explicit },
  };
}

/** The branch a handle id names (`next` for anything else). */
export function asBranch(h: string | null | undefined): Branch {
  if (h === 'true' || h === 'false' || h === 'body' || h === 'default') return h;
  if (h && h.startsWith('case:') && h.length > 5) return h as Branch;
  return 'next';
}

export function branchOf(edge: Pick<BlockEdge, 'sourceHandle'>): Branch {
  return asBranch(edge.sourceHandle);
}

/** The handle a document edge leaves from. */
function handleOf(e: DocEdge): Branch {
  if (e.branch === 'case') return `case:${e.case ?? ''}`;
  return e.branch ?? 'next';
}

const HANDLE = 10;

/** Where BlockNode draws its handles: `in` on top, the branches spread along the bottom. */
export function handlesOf(type: string, block?: DocBlock): NodeHandle[] {
  const branches = branchesOf(block ?? { id: '', type });
  const out: NodeHandle[] = branches.map((b, i) => ({
    id: b,
    type: 'source',
    position: Position.Bottom,
    x: (NODE_WIDTH * (i + 1)) / (branches.length + 1) - HANDLE / 2,
    y: NODE_HEIGHT - HANDLE / 2,
    width: HANDLE,
    height: HANDLE,
  }));
  if (type !== 'start') {
    out.push({ id: 'in', type: 'target', position: Position.Top, x: NODE_WIDTH / 2 - HANDLE / 2, y: -HANDLE / 2, width: HANDLE, height: HANDLE });
  }
  return out;
}

export function makeNode(block: DocBlock, position: { x: number; y: number }): BlockNode {
  const { ui: _ui, ...rest } = block;
  // The accessible name screen readers announce for the node.
  // Sizes and handle places known before measuring: React Flow then mounts
  // only the blocks in view (onlyRenderVisibleElements) instead of every
  // block once to find its handles, which is most of the cost of opening
  // 200 blocks. They match BlockNode's layout; a rendered block is measured.
  return {
    id: block.id,
    type: 'block',
    position,
    initialWidth: NODE_WIDTH,
    initialHeight: NODE_HEIGHT,
    handles: handlesOf(block.type, block),
    ariaLabel: `Block ${block.id} (${block.type})`,
    data: { block: rest as DocBlock },
  };
}

export interface FlowGraph {
  meta: DocMeta;
  nodes: BlockNode[];
  edges: BlockEdge[];
  /** True when at least one block had no stored position (lay it out). */
  needsLayout: boolean;
}

export function docToFlow(doc: AutomationDocument): FlowGraph {
  const { blocks, edges, ...meta } = doc;
  let needsLayout = false;
  const nodes = (blocks ?? []).map((b) => {
    const ui = b.ui;
    const placed = ui && typeof ui.x === 'number' && typeof ui.y === 'number';
    if (!placed) needsLayout = true;
    return makeNode(b, placed ? { x: ui.x, y: ui.y } : { x: 0, y: 0 });
  });
  const flowEdges = (edges ?? []).map((e) => makeEdge(e.from, handleOf(e), e.to, e.branch !== undefined));
  return { meta, nodes, edges: flowEdges, needsLayout };
}

export function flowToDoc(meta: DocMeta, nodes: readonly BlockNode[], edges: readonly BlockEdge[]): AutomationDocument {
  const blocks: DocBlock[] = nodes.map((n) => ({
    ...n.data.block,
    id: n.id,
    ui: { x: Math.round(n.position.x), y: Math.round(n.position.y) },
  }));
  const docEdges: DocEdge[] = edges.map((e) => {
    const branch = branchOf(e);
    const out: DocEdge = { from: e.source, to: e.target };
    if (branch.startsWith('case:')) {
      out.branch = 'case';
      out.case = branch.slice('case:'.length);
    } else if (branch !== 'next' || e.data?.explicit) {
      out.branch = branch as DocEdge['branch'];
    }
    return out;
  });
  return { ...meta, blocks, edges: docEdges } as AutomationDocument;
}

/**
 * Rename a block: its node, the edges that touch it, and the `$.Old`
 * references in every block (so mappings keep pointing at it).
 */
export function renameBlock(
  nodes: readonly BlockNode[],
  edges: readonly BlockEdge[],
  from: string,
  to: string,
): { nodes: BlockNode[]; edges: BlockEdge[] } {
  const pattern = new RegExp(`\\$\\.${from.replace(/[-]/g, '\\-')}(?![A-Za-z0-9_-])`, 'g');
  const rewrite = (v: unknown): unknown => {
    if (typeof v === 'string') return v.replace(pattern, `$.${to}`);
    if (Array.isArray(v)) return v.map(rewrite);
    if (v && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, rewrite(x)]));
    }
    return v;
  };
  const newNodes = nodes.map((n) => {
    const block = rewrite(n.data.block) as DocBlock;
    if (n.id === from) return { ...n, id: to, ariaLabel: `Block ${to} (${block.type})`, data: { ...n.data, block: { ...block, id: to } } };
    return block === n.data.block ? n : { ...n, data: { ...n.data, block } };
  });
  const newEdges = edges.map((e) => {
    if (e.source !== from && e.target !== from) return e;
    const s = e.source === from ? to : e.source;
    const t = e.target === from ? to : e.target;
    return { ...makeEdge(s, branchOf(e), t, e.data?.explicit ?? false) };
  });
  return { nodes: newNodes, edges: newEdges };
}

/** An empty automation: one Start block. */
export function emptyDocument(id: string, name: string): AutomationDocument {
  return {
    weft: 'automation/v1',
    id,
    name,
    // No `ui`: the editor lays a document without positions out on open.
    blocks: [{ id: 'Start', type: 'start' }],
    edges: [],
  };
}
