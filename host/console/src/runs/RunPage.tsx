// One run on the canvas of the automation version it ran: each block's
// status, and the selected block's steps (input, output, logs, HTTP calls,
// attempts). Follows the run live while it goes.
import { applyNodeChanges, ReactFlowProvider, type NodeChange } from '@xyflow/react';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import * as api from '../api/endpoints';
import type { Automation } from '../api/types';
import { Link } from '../app/Link';
import { Canvas } from '../editor/Canvas';
import { decorate } from '../editor/decorate';
import { loadGraph } from '../editor/loadGraph';
import { ErrorNotice } from '../ui/Notice';
import { branchOf, type BlockNode } from '../editor/graph';
import { blockStates, runningBlock } from './runModel';
import { RunSummaryPanel } from './RunSummaryPanel';
import { StepDetails } from './StepDetails';
import { useLiveRun } from './useLiveRun';
import { InputForm } from './InputForm';

const NO_PROBLEMS = new Map<string, string[]>();

export default function RunPage({ runId }: { runId: string }) {
  const { live, follow } = useLiveRun(runId);
  const [automation, setAutomation] = useState<Automation | null>(null);
  const [automationError, setAutomationError] = useState<string | null>(null);
  const cache = useRef(new Map());
  const automationId = live.run?.automation_id;

  useEffect(() => {
    if (!automationId) return;
    // The current document; the run may have used an older version, whose
    // blocks are then shown as far as they still exist.
    api
      .getAutomation(automationId)
      .then(setAutomation)
      .catch(() => setAutomationError('The automation is gone or not yours: only the steps are shown.'));
  }, [automationId]);

  const graph = useMemo(() => (automation ? loadGraph(automation) : null), [automation]);
  const states = useMemo(() => {
    const next = (id: string) => graph?.edges.find((e) => e.source === id && branchOf(e) === 'next')?.target;
    return blockStates(live.steps, runningBlock(live.run?.status, live.steps, next));
  }, [live.steps, live.run?.status, graph]);
  // React Flow measures nodes and selects them through node changes: a
  // read-only view still applies those two (never moves or deletions).
  const [base, setBase] = useState<BlockNode[]>([]);
  useEffect(() => setBase(graph?.nodes ?? []), [graph]);
  const onNodesChange = useCallback(
    (changes: NodeChange<BlockNode>[]) => setBase((ns) => applyNodeChanges(changes.filter((c) => c.type === 'dimensions' || c.type === 'select'), ns)),
    [],
  );
  const nodes = useMemo(() => decorate(base, states, NO_PROBLEMS, cache.current), [base, states]);
  const chosen = base.filter((n) => n.selected);
  const selectedId = chosen.length === 1 ? chosen[0].id : null;
  const steps = selectedId ? live.steps.filter((s) => s.block_id === selectedId) : live.steps;

  return (
    <section aria-labelledby="run-title">
      <div className="toolbar">
        <h1 id="run-title">Run</h1>
        <Link href="/runs">All runs</Link>
        {automationId && <Link href={`/automations/${encodeURIComponent(automationId)}/runs`}>Runs of {automationId}</Link>}
        {automation && <Link href={`/automations/${encodeURIComponent(automation.id)}/edit`}>Open editor</Link>}
      </div>
      <ErrorNotice error={live.error} />
      {automationError && <p className="help">{automationError}</p>}
      <div className="run-layout">
        {graph ? (
          <ReactFlowProvider>
            <Canvas nodes={nodes} edges={graph.edges} readOnly onNodesChange={onNodesChange} />
          </ReactFlowProvider>
        ) : (
          <div className="canvas" />
        )}
        <aside className="inspector" aria-label="Run details">
          {live.run ? <RunSummaryPanel run={live.run} statusOnly={live.statusOnly} /> : <p role="status">Loading…</p>}
          {live.run && !live.statusOnly && <InputForm run={live.run} onSubmitted={() => follow(runId)} />}
          {!live.statusOnly && (
            <section aria-label="Steps">
              <h3>{selectedId ? `Steps of ${selectedId}` : 'All steps'} </h3>
              {!selectedId && <p className="help">Select a block on the canvas to see only its steps.</p>}
              <StepDetails steps={steps} />
            </section>
          )}
        </aside>
      </div>
    </section>
  );
}
