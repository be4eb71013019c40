// Copy/paste of a selection: the blocks and the edges between them, given
// fresh ids on paste (and their references to each other rewritten), never
// a second Start block.
import type { DocBlock } from '../api/types';
import { freshId } from './blockKinds';
import { branchOf, makeEdge, makeNode, type BlockEdge, type BlockNode } from './graph';

export interface Clip {
  blocks: { block: DocBlock; x: number; y: number }[];
  edges: { from: string; to: string; branch: ReturnType<typeof branchOf> }[];
}

export function copySelection(nodes: readonly BlockNode[], edges: readonly BlockEdge[]): Clip | null {
  const chosen = nodes.filter((n) => n.selected && n.data.block.type !== 'start');
  if (chosen.length === 0) return null;
  const ids = new Set(chosen.map((n) => n.id));
  return {
    blocks: chosen.map((n) => ({ block: n.data.block, x: n.position.x, y: n.position.y })),
    edges: edges
      .filter((e) => ids.has(e.source) && ids.has(e.target))
      .map((e) => ({ from: e.source, to: e.target, branch: branchOf(e) })),
  };
}

export function pasteClip(
  clip: Clip,
  nodes: readonly BlockNode[],
  offset = 40,
): { nodes: BlockNode[]; edges: BlockEdge[] } {
  const taken = new Set(nodes.map((n) => n.id));
  const rename = new Map<string, string>();
  for (const { block } of clip.blocks) {
    const id = freshId(block.id, taken);
    taken.add(id);
    rename.set(block.id, id);
  }
  const rewrite = (v: unknown): unknown => {
    if (typeof v === 'string') {
      return v.replace(/\$\.([A-Za-z0-9_-]+)/g, (m, id: string) => (rename.has(id) ? `$.${rename.get(id)}` : m));
    }
    if (Array.isArray(v)) return v.map(rewrite);
    if (v && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, rewrite(x)]));
    }
    return v;
  };
  const newNodes = clip.blocks.map(({ block, x, y }) => {
    const copy = { ...(rewrite(block) as DocBlock), id: rename.get(block.id)! };
    return { ...makeNode(copy, { x: x + offset, y: y + offset }), selected: true };
  });
  const newEdges = clip.edges.map((e) => makeEdge(rename.get(e.from)!, e.branch, rename.get(e.to)!));
  return { nodes: newNodes, edges: newEdges };
}
