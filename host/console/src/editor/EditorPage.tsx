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
import { loadGraph } from './loadGraph';
import type { Graph } from './useGraph';

export interface Loaded {
  automation: Automation;
  graph: Graph;
  connectors: Connector[];
  connections: Connection[];
  lastRun: RunLog | null;
}

export default function EditorPage({ automationId }: { automationId: string }) {
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(async () => {
    setError(null);
    try {
      // The last run (for the mapping picker) is fetched alongside, not
      // before the canvas: the editor opens after one round trip.
      const lastRun = api
        .listRuns({ automation: automationId, limit: 1 })
        .then((runs) => (runs.items[0] ? api.getRun(runs.items[0].id) : null))
        .catch(() => null);
      const [automation, connectors, connections] = await Promise.all([
        api.getAutomation(automationId),
        api.listConnectors().catch(() => [] as Connector[]),
        api.listConnections().catch(() => [] as Connection[]),
      ]);
      performance.mark('weft:editor-data');
      const graph = loadGraph(automation);
      performance.mark('weft:editor-laid-out');
      setLoaded({ automation, graph, connectors, connections, lastRun: null });
      void lastRun.then((run) => run && setLoaded((l) => (l && l.automation.id === automation.id ? { ...l, lastRun: run } : l)));
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
