// Auto-layout with dagre: top to bottom, the tree hanging from Start, for
// documents whose blocks carry no stored `ui` position (and for the
// "Auto-layout" button). Siblings keep the branch order true, body,
// false, next from left to right (ordering constraints), so a condition's
// branches always read the same way.
//
// Automations are mostly long chains (A → B → C …). dagre's cost grows
// with the number of ranks and nodes, so each chain is handed to dagre as
// one tall node and unfolded afterwards: 200 blocks lay out in a few
// milliseconds instead of a few hundred, with the same picture.
import { Graph, layout } from '@dagrejs/dagre';
import { branchOf, NODE_HEIGHT, NODE_WIDTH, type BlockEdge, type BlockNode } from './graph';

const ORDER = { true: 0, body: 1, false: 3, default: 4, next: 5 } as const;
/** Left to right: true, body, a case block's cases (in edge order), false, default, next. */
const order = (b: ReturnType<typeof branchOf>): number => (b.startsWith('case:') ? 2 : ORDER[b as keyof typeof ORDER]);
const RANK_SEP = 60;

/** Maximal chains: each member but the last has exactly one outgoing edge, into the next member's only incoming edge. */
export function chains(ids: readonly string[], edges: readonly Pick<BlockEdge, 'source' | 'target'>[]): string[][] {
  const known = new Set(ids);
  const out = new Map<string, string[]>();
  const inCount = new Map<string, number>();
  for (const e of edges) {
    if (!known.has(e.source) || !known.has(e.target)) continue;
    out.set(e.source, [...(out.get(e.source) ?? []), e.target]);
    inCount.set(e.target, (inCount.get(e.target) ?? 0) + 1);
  }
  const continues = (id: string): string | undefined => {
    const o = out.get(id);
    return o && o.length === 1 && inCount.get(o[0]) === 1 ? o[0] : undefined;
  };
  const continued = new Set<string>();
  for (const id of ids) {
    const c = continues(id);
    if (c) continued.add(c);
  }
  const result: string[][] = [];
  const placed = new Set<string>();
  const walk = (head: string) => {
    const chain: string[] = [];
    for (let cur: string | undefined = head; cur !== undefined && !placed.has(cur); cur = continues(cur)) {
      placed.add(cur);
      chain.push(cur);
    }
    result.push(chain);
  };
  for (const id of ids) if (!continued.has(id)) walk(id);
  // Whatever is left sits on a cycle (an invalid document): walk it anyway.
  for (const id of ids) if (!placed.has(id)) walk(id);
  return result;
}

export function layoutGraph<N extends Pick<BlockNode, 'id' | 'position'>>(
  nodes: readonly N[],
  edges: readonly BlockEdge[],
  keep: (node: N) => boolean = () => false,
): N[] {
  const ids = nodes.map((n) => n.id);
  const groups = chains(ids, edges);
  const chainOf = new Map<string, number>();
  groups.forEach((members, i) => members.forEach((m) => chainOf.set(m, i)));
  const key = (i: number) => `c${i}`;

  const g = new Graph();
  // Tall chain nodes share a rank with short ones: align them on top, so a
  // branch's first block sits right below its parent.
  g.setGraph({ rankdir: 'TB', nodesep: 40, ranksep: RANK_SEP, marginx: 20, marginy: 20, rankalign: 'top' });
  g.setDefaultEdgeLabel(() => ({}));
  groups.forEach((members, i) => g.setNode(key(i), { width: NODE_WIDTH, height: members.length * NODE_HEIGHT + (members.length - 1) * RANK_SEP }));
  const bySource = new Map<number, BlockEdge[]>();
  for (const e of edges) {
    const a = chainOf.get(e.source);
    const b = chainOf.get(e.target);
    if (a === undefined || b === undefined || a === b) continue;
    g.setEdge(key(a), key(b));
    bySource.set(a, [...(bySource.get(a) ?? []), e]);
  }
  const constraints: { left: string; right: string }[] = [];
  for (const out of bySource.values()) {
    const sorted = [...out].sort((x, y) => order(branchOf(x)) - order(branchOf(y)));
    for (let i = 1; i < sorted.length; i++) {
      constraints.push({ left: key(chainOf.get(sorted[i - 1].target)!), right: key(chainOf.get(sorted[i].target)!) });
    }
  }
  // A tree has no crossings for dagre's ordering heuristic to remove.
  layout(g, { disableOptimalOrderHeuristic: true, constraints });

  const position = new Map<string, { x: number; y: number }>();
  groups.forEach((members, i) => {
    const p = g.node(key(i));
    const top = p.y - (p.height ?? NODE_HEIGHT) / 2;
    members.forEach((m, j) => position.set(m, { x: Math.round(p.x - NODE_WIDTH / 2), y: Math.round(top + j * (NODE_HEIGHT + RANK_SEP)) }));
  });
  return nodes.map((n) => (keep(n) ? n : { ...n, position: position.get(n.id)! }));
}
