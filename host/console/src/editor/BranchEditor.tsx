// The block's outgoing edges as selects: the keyboard way to connect
// blocks (dragging between handles needs a pointer). Only targets the
// graph rules allow are offered.
import type { Branch } from '../api/types';
import { branchesOf, branchLabel } from './blockKinds';
import { SelectField } from './fields';
import { branchOf, type BlockEdge, type BlockNode } from './graph';
import { checkConnection } from './rules';

export function BranchEditor({
  id,
  nodes,
  edges,
  onSet,
}: {
  id: string;
  nodes: readonly BlockNode[];
  edges: readonly BlockEdge[];
  onSet: (branch: Branch, target: string | null) => void;
}) {
  const node = nodes.find((n) => n.id === id);
  if (!node) return null;
  const branches = branchesOf(node.data.block);
  if (branches.length === 0) return null;
  return (
    <fieldset>
      <legend>Goes on to</legend>
      {branches.map((branch) => {
        const current = edges.find((e) => e.source === id && branchOf(e) === branch)?.target ?? '';
        // Candidates are checked as if this branch's current edge were gone.
        const others = edges.filter((e) => !(e.source === id && branchOf(e) === branch));
        const options = nodes
          .filter((n) => n.id === current || checkConnection(nodes, others, { source: id, sourceHandle: branch, target: n.id }).ok)
          .map((n) => ({ value: n.id, label: n.id }));
        return (
          <SelectField
            key={branch}
            label={branch === 'next' ? 'next' : `${branchLabel(branch)} branch`}
            value={current}
            options={[{ value: '', label: '(nothing)' }, ...options]}
            onChange={(v) => onSet(branch, v || null)}
            testId={`branch-${branch}`}
          />
        );
      })}
    </fieldset>
  );
}
