// A stored automation as the editor's graph: its document converted, and
// laid out when some blocks carry no position (blocks that do keep theirs).
import type { Automation } from '../api/types';
import { docToFlow } from './graph';
import { layoutGraph } from './layout';
import type { Graph } from './useGraph';

export function loadGraph(a: Automation): Graph {
  const flow = docToFlow(a.document);
  if (!flow.needsLayout) return { meta: flow.meta, nodes: flow.nodes, edges: flow.edges };
  const placed = new Set(a.document.blocks.filter((b) => b.ui && typeof b.ui.x === 'number').map((b) => b.id));
  const nodes = layoutGraph(flow.nodes, flow.edges, placed.size > 0 ? (n) => placed.has(n.id) : undefined);
  return { meta: flow.meta, nodes, edges: flow.edges };
}
