// Overlays run statuses and validation problems on the nodes, reusing the
// node objects whose overlay did not change, so the memoized node
// components re-render only where something changed.
import type { ValidationProblem } from '../api/types';
import type { BlockRunState } from '../runs/runModel';
import type { BlockNode, StepState } from './graph';

export interface Overlay {
  status?: StepState;
  stepCount?: number;
  problems?: string[];
}

type Cache = Map<string, { base: BlockNode; key: string; out: BlockNode }>;

export function problemsByBlock(problems: readonly ValidationProblem[]): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const p of problems) {
    if (!p.block) continue;
    m.set(p.block, [...(m.get(p.block) ?? []), `${p.field}: ${p.message}`]);
  }
  return m;
}

export function decorate(
  nodes: readonly BlockNode[],
  states: ReadonlyMap<string, BlockRunState> | null,
  problems: ReadonlyMap<string, string[]>,
  cache: Cache,
): BlockNode[] {
  return nodes.map((n) => {
    const s = states?.get(n.id);
    const p = problems.get(n.id);
    if (!s && !p) return n;
    const key = `${s?.status ?? ''}|${s?.count ?? ''}|${p?.join('\n') ?? ''}`;
    const hit = cache.get(n.id);
    if (hit && hit.base === n && hit.key === key) return hit.out;
    const out = { ...n, data: { ...n.data, status: s?.status, stepCount: s?.count, problems: p } };
    cache.set(n.id, { base: n, key, out });
    return out;
  });
}
