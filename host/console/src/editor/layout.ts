// Auto-layout with dagre: top to bottom, the tree hanging from Start, for
// documents whose blocks carry no stored `ui` position (and for the
// "Auto-layout" button). Branch order (true, false, body, next) is kept
// left to right by adding edges in that order.
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
  const sorted = [...edges].sort((a, b) => ORDER[branchOf(a)] - ORDER[branchOf(b)]);
  for (const e of sorted) if (g.hasNode(e.source) && g.hasNode(e.target)) g.setEdge(e.source, e.target);
  layout(g);
  return nodes.map((n) => {
    if (keep(n)) return n;
    const p = g.node(n.id);
    // dagre gives centres; React Flow positions are top-left corners.
    return { ...n, position: { x: Math.round(p.x - NODE_WIDTH / 2), y: Math.round(p.y - NODE_HEIGHT / 2) } };
  });
}
