// Checks made in the browser as the user edits, before the server's full
// validation on save: the mistakes that are plain from the document and
// the connectors' manifests (an empty required input, a block nothing
// leads to, an unknown connector). Shown on the blocks and fields they
// name, like the server's problems.
import { connectionRequired, type Connector, type ValidationProblem } from '../api/types';
import type { BlockEdge, BlockNode } from './graph';

const isEmpty = (v: unknown) => v === undefined || v === null || v === '';

export function localProblems(
  nodes: readonly BlockNode[],
  edges: readonly BlockEdge[],
  connectors: ReadonlyMap<string, Connector>,
): ValidationProblem[] {
  const out: ValidationProblem[] = [];
  const hasParent = new Set(edges.map((e) => e.target));
  for (const n of nodes) {
    const b = n.data.block;
    if (b.type !== 'start' && !hasParent.has(n.id)) {
      out.push({ block: n.id, field: 'edges', message: 'nothing leads to this block: connect it below another one' });
    }
    switch (b.type) {
      case 'connector': {
        const c = connectors.get(b.connector ?? '');
        const spec = c?.blocks.find((x) => x.id === b.block);
        if (!c) out.push({ block: n.id, field: 'connector', message: `connector ${b.connector} is not installed` });
        else if (!spec) out.push({ block: n.id, field: 'block', message: `${b.connector} has no block ${b.block}` });
        const inputs = (b.inputs && typeof b.inputs === 'object' ? b.inputs : {}) as Record<string, unknown>;
        const required = Array.isArray(spec?.input_schema?.required) ? (spec!.input_schema!.required as string[]) : [];
        for (const r of required) if (isEmpty(inputs[r])) out.push({ block: n.id, field: `inputs.${r}`, message: 'required' });
        if (connectionRequired(c) && isEmpty(b.connection)) {
          out.push({ block: n.id, field: 'connection', message: 'choose a connection' });
        }
        break;
      }
      case 'loop':
        if (isEmpty(b.over)) out.push({ block: n.id, field: 'over', message: 'required: the list to go over' });
        break;
      case 'variable':
        if (isEmpty(b.variable)) out.push({ block: n.id, field: 'variable', message: 'required' });
        break;
      case 'sleep':
        if (isEmpty(b.ms)) out.push({ block: n.id, field: 'ms', message: 'required' });
        break;
      case 'call_automation':
        if (isEmpty(b.automation)) out.push({ block: n.id, field: 'automation', message: 'required' });
        break;
    }
  }
  return out;
}

/** Server problems first; a local one is dropped when the server named the same field. */
export function mergeProblems(server: readonly ValidationProblem[], local: readonly ValidationProblem[]): ValidationProblem[] {
  const seen = new Set(server.map((p) => `${p.block ?? ''}|${p.field}`));
  return [...server, ...local.filter((p) => !seen.has(`${p.block ?? ''}|${p.field}`))];
}
