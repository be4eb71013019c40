// The graph rules the engine enforces (host/src/automation/plan.rs),
// checked while the user draws so an impossible edge is never made: one
// Start block that nothing leads into, each handle with at most one
// outgoing edge, each block with at most one incoming edge (a tree), no
// cycles, and only the branches a block's type has.
import type { Branch } from '../api/types';
import { branchAllowed } from './blockKinds';
import { asBranch, branchOf, type BlockEdge, type BlockNode } from './graph';

export interface ConnectAttempt {
  source: string | null;
  sourceHandle?: string | null;
  target: string | null;
}

export type Verdict = { ok: true; branch: Branch } | { ok: false; reason: string };

export function checkConnection(
  nodes: readonly Pick<BlockNode, 'id' | 'data'>[],
  edges: readonly Pick<BlockEdge, 'source' | 'sourceHandle' | 'target'>[],
  attempt: ConnectAttempt,
): Verdict {
  const { source, target } = attempt;
  if (!source || !target) return { ok: false, reason: 'An edge needs both ends.' };
  const branch = asBranch(attempt.sourceHandle);
  const src = nodes.find((n) => n.id === source);
  const dst = nodes.find((n) => n.id === target);
  if (!src || !dst) return { ok: false, reason: 'No such block.' };
  if (source === target) return { ok: false, reason: 'A block cannot lead into itself.' };
  if (!branchAllowed(src.data.block.type, branch, src.data.block)) {
    return { ok: false, reason: `A ${src.data.block.type} block has no ${branch} edge.` };
  }
  if (dst.data.block.type === 'start') return { ok: false, reason: 'Nothing may lead into the Start block.' };
  if (edges.some((e) => e.source === source && branchOf(e) === branch)) {
    return { ok: false, reason: `${source} already has a ${branch} edge; delete it first.` };
  }
  if (edges.some((e) => e.target === target)) {
    return { ok: false, reason: `${target} already has an incoming edge (blocks form a tree).` };
  }
  // A cycle would appear if the target is already an ancestor of the source.
  const parent = new Map<string, string>();
  for (const e of edges) parent.set(e.target, e.source);
  const seen = new Set<string>();
  for (let cur: string | undefined = source; cur !== undefined && !seen.has(cur); cur = parent.get(cur)) {
    if (cur === target) return { ok: false, reason: 'That edge would make a cycle.' };
    seen.add(cur);
  }
  return { ok: true, branch };
}

/** May another block of this type be added (only one Start)? */
export function canAdd(nodes: readonly Pick<BlockNode, 'data'>[], type: string): Verdict {
  if (type === 'start' && nodes.some((n) => n.data.block.type === 'start')) {
    return { ok: false, reason: 'An automation has exactly one Start block.' };
  }
  return { ok: true, branch: 'next' };
}
