// The canvas node for every block: memoized, so moving one block or one
// step arriving re-renders only the nodes whose data changed (a 200-block
// automation stays interactive).
import { Handle, Position, type NodeProps } from '@xyflow/react';
import { memo } from 'react';
import { blockSummary, blockTitle, branchesOf, branchLabel } from './blockKinds';
import type { BlockNode as BlockNodeType } from './graph';

function BlockNodeView({ data, selected }: NodeProps<BlockNodeType>) {
  const { block, status, stepCount, problems } = data;
  const branches = branchesOf(block);
  const n = branches.length;
  const summary = blockSummary(block);
  const classes = ['block-node', `type-${block.type}`];
  if (selected) classes.push('selected');
  if (status) classes.push(`status-${status}`);
  if (problems && problems.length > 0) classes.push('has-problems');
  return (
    <div className={classes.join(' ')} data-testid={`block-${block.id}`} title={block.description ?? undefined}>
      {block.type !== 'start' && <Handle type="target" position={Position.Top} id="in" aria-label={`Into ${block.id}`} />}
      <div className="title">{block.id}</div>
      <div className="kind">{blockTitle(block)}</div>
      {summary && <div className="summary mono">{summary}</div>}
      {problems && problems.length > 0 && (
        <div className="problem-count" data-testid={`block-problems-${block.id}`}>
          {problems.length} problem{problems.length > 1 ? 's' : ''}
        </div>
      )}
      {status && (
        <span className={`status badge badge-${status}`} data-testid={`block-status-${block.id}`}>
          {status}
          {stepCount && stepCount > 1 ? ` ×${stepCount}` : ''}
        </span>
      )}
      {block.censor && <span className="badge badge-censored">censored</span>}
      {branches.map((branch, i) => {
        const left = `${((i + 1) * 100) / (n + 1)}%`;
        return (
          <div key={branch}>
            <Handle
              type="source"
              position={Position.Bottom}
              id={branch}
              className={`branch-${branch.startsWith('case:') ? 'case' : branch}`}
              style={{ left }}
              aria-label={`${branchLabel(branch)} of ${block.id}`}
              data-testid={`handle-${block.id}-${branch}`}
            />
            {n > 1 || branch !== 'next' ? (
              <span className="handle-label" style={{ left }}>
                {branchLabel(branch)}
              </span>
            ) : null}
          </div>
        );
      })}
    </div>
  );
}

export const BlockNode = memo(BlockNodeView);
export const nodeTypes = { block: BlockNode };
