// Loads what the editor needs (the automation, the connectors for the
// palette, the caller's connections, the last run for the mapping picker)
// and lays out a document without stored positions.
import { ReactFlowProvider } from '@xyflow/react';
import { useCallback, useEffect, useState } from 'react';
import { errorMessage } from '../api/client';
import * as api from '../api/endpoints';
import type { Automation, Connection, Connector, RunLog } from '../api/types';
import { ErrorNotice } from '../ui/Notice';
import { Editor } from './Editor';
import { docToFlow } from './graph';
import { layoutGraph } from './layout';
import type { Graph } from './useGraph';

export interface Loaded {
  automation: Automation;
  graph: Graph;
  connectors: Connector[];
  connections: Connection[];
  lastRun: RunLog | null;
}

export function loadGraph(a: Automation): Graph {
  const flow = docToFlow(a.document);
  if (!flow.needsLayout) return { meta: flow.meta, nodes: flow.nodes, edges: flow.edges };
  const placed = new Set(a.document.blocks.filter((b) => b.ui && typeof b.ui.x === 'number').map((b) => b.id));
  const nodes = layoutGraph(flow.nodes, flow.edges, placed.size > 0 ? (n) => placed.has(n.id) : undefined);
  return { meta: flow.meta, nodes, edges: flow.edges };
}

export default function EditorPage({ automationId }: { automationId: string }) {
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(async () => {
    setError(null);
    try {
      const [automation, connectors, connections, runs] = await Promise.all([
        api.getAutomation(automationId),
        api.listConnectors().catch(() => [] as Connector[]),
        api.listConnections().catch(() => [] as Connection[]),
        api.listRuns({ automation: automationId, limit: 1 }).catch(() => null),
      ]);
      const last = runs?.items[0];
      const lastRun = last ? await api.getRun(last.id).catch(() => null) : null;
      setLoaded({ automation, graph: loadGraph(automation), connectors, connections, lastRun });
    } catch (e) {
      setError(errorMessage(e));
    }
  }, [automationId]);

  useEffect(() => {
    void load();
  }, [load]);

  if (error) return <ErrorNotice error={error} />;
  if (!loaded) return <p className="loading" role="status">Loading the editor…</p>;
  return (
    <ReactFlowProvider>
      <Editor loaded={loaded} />
    </ReactFlowProvider>
  );
}
