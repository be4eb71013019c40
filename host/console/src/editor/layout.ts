// Auto-layout with dagre: top to bottom, the tree hanging from Start, for
// documents whose blocks carry no stored `ui` position (and for the
// "Auto-layout" button). Siblings keep the branch order true, body,
// false, next from left to right (ordering constraints), so a condition's
// branches always read the same way.
import { Graph, layout } from '@dagrejs/dagre';
import { branchOf, NODE_HEIGHT, NODE_WIDTH, type BlockEdge, type BlockNode } from './graph';

const ORDER = { true: 0, body: 1, false: 2, next: 3 } as const;

export function layoutGraph<N extends Pick<BlockNode, 'id' | 'position'>>(
  nodes: readonly N[],
  edges: readonly BlockEdge[],
  keep: (node: N) => boolean = () => false,
): N[] {
  const g = new Graph();
  g.setGraph({ rankdir: 'TB', nodesep: 40, ranksep: 60, marginx: 20, marginy: 20 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of nodes) g.setNode(n.id, { width: NODE_WIDTH, height: NODE_HEIGHT });
  const bySource = new Map<string, BlockEdge[]>();
  for (const e of edges) {
    if (!g.hasNode(e.source) || !g.hasNode(e.target)) continue;
    g.setEdge(e.source, e.target);
    bySource.set(e.source, [...(bySource.get(e.source) ?? []), e]);
  }
  const constraints: { left: string; right: string }[] = [];
  for (const out of bySource.values()) {
    const sorted = [...out].sort((a, b) => ORDER[branchOf(a)] - ORDER[branchOf(b)]);
    for (let i = 1; i < sorted.length; i++) constraints.push({ left: sorted[i - 1].target, right: sorted[i].target });
  }
  // The crossing-minimisation heuristic is most of dagre's time and a tree
  // has no crossings to remove: skipping it keeps 200 blocks well under
  // the editor's one-second budget.
  layout(g, { disableOptimalOrderHeuristic: true, constraints });
  return nodes.map((n) => {
    if (keep(n)) return n;
    const p = g.node(n.id);
    // dagre gives centres; React Flow positions are top-left corners.
    return { ...n, position: { x: Math.round(p.x - NODE_WIDTH / 2), y: Math.round(p.y - NODE_HEIGHT / 2) } };
  });
}
