// The canvas editor: palette, canvas and inspector around one graph state
// with undo/redo; save with optimistic versions; run with live status.
import { useReactFlow, type Connection } from '@xyflow/react';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { ApiError, errorMessage } from '../api/client';
import * as api from '../api/endpoints';
import type { Branch, DocBlock, ValidationProblem } from '../api/types';
import { Link } from '../app/Link';
import { setLeaveGuard } from '../app/router';
import { useUser } from '../app/session';
import { blockOutputs, blockStates, runningBlock } from '../runs/runModel';
import { RunSummaryPanel } from '../runs/RunSummaryPanel';
import { StepDetails } from '../runs/StepDetails';
import { useLiveRun } from '../runs/useLiveRun';
import { download } from '../ui/format';
import { ErrorNotice, InfoNotice } from '../ui/Notice';
import { AutomationSettings } from './AutomationSettings';
import { BranchEditor } from './BranchEditor';
import { kindOf } from './blockKinds';
import { Canvas } from './Canvas';
import { copySelection, pasteClip, type Clip } from './clipboard';
import { decorate, problemsByBlock } from './decorate';
import { ConflictDialog, RunDialog } from './dialogs';
import type { Loaded } from './EditorPage';
import { loadGraph } from './loadGraph';
import { branchOf, flowToDoc, makeEdge, makeNode, renameBlock } from './graph';
import { Inspector } from './Inspector';
import { localProblems, mergeProblems } from './localCheck';
import { layoutGraph } from './layout';
import { RefGroupsContext } from './MappingPicker';
import { Palette } from './Palette';
import { newBlock, paletteItems } from './palette';
import { canAdd, checkConnection } from './rules';
import { referenceGroups } from './upstream';
import { useGraph, type Graph } from './useGraph';

const docJson = (g: Graph) => JSON.stringify(flowToDoc(g.meta, g.nodes, g.edges));

export function Editor({ loaded }: { loaded: Loaded }) {
  const { automation, connectors } = loaded;
  const [connections, setConnections] = useState(loaded.connections);
  const flow = useReactFlow();
  // Only the owner changes or runs an automation (an admin sees others' read-only).
  const readOnly = automation.owner !== useUser().name;
  const g = useGraph(loaded.graph);
  const { graph } = g;
  const [version, setVersion] = useState(automation.version);
  const [saved, setSaved] = useState(() => docJson(loaded.graph));
  // The server's problems from the last save; local ones are recomputed as the user edits.
  const [serverProblems, setProblems] = useState<ValidationProblem[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [info, setInfo] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const [conflict, setConflict] = useState<number | null>(null);
  const [runOpen, setRunOpen] = useState(false);
  const [selected, setSelected] = useState<string[]>([]);
  const { live, follow, clear } = useLiveRun();
  const clip = useRef<Clip | null>(null);
  const overlayCache = useRef(new Map());

  const current = useMemo(() => docJson(graph), [graph]);
  const dirty = current !== saved;
  const items = useMemo(() => paletteItems(connectors), [connectors]);
  const connectorById = useMemo(() => new Map(connectors.map((c) => [c.id, c])), [connectors]);

  // Steps of the run being watched, else of the last run (for the picker).
  const lastSteps = live.runId ? live.steps : (loaded.lastRun?.steps ?? []);
  const states = useMemo(() => {
    if (!live.runId) return null;
    const next = (id: string) => graph.edges.find((e) => e.source === id && branchOf(e) === 'next')?.target;
    return blockStates(live.steps, runningBlock(live.run?.status, live.steps, next));
  }, [live.runId, live.steps, live.run?.status, graph.edges]);
  const problems = useMemo(
    () => mergeProblems(serverProblems, localProblems(graph.nodes, graph.edges, connectorById)),
    [serverProblems, graph.nodes, graph.edges, connectorById],
  );
  const problemMap = useMemo(() => problemsByBlock(problems), [problems]);
  const nodes = useMemo(() => decorate(graph.nodes, states, problemMap, overlayCache.current), [graph.nodes, states, problemMap]);

  const selectedNode = selected.length === 1 ? graph.nodes.find((n) => n.id === selected[0]) : undefined;
  const refGroups = useMemo(() => {
    if (!selectedNode) return [];
    return referenceGroups(
      {
        nodes: graph.nodes,
        edges: graph.edges,
        variables: graph.meta.variables,
        outputSchema: (c, b) => connectorById.get(c)?.blocks.find((x) => x.id === b)?.output_schema,
        lastOutputs: blockOutputs(lastSteps),
        lastInput: live.run?.input ?? loaded.lastRun?.run.input,
      },
      selectedNode.id,
    );
  }, [selectedNode, graph, connectorById, lastSteps, live.run, loaded.lastRun]);

  // Warn before leaving with unsaved changes: reloads and closing the tab
  // (beforeunload), and the console's own links (the router's guard).
  useEffect(() => {
    if (!dirty || readOnly) return;
    const h = (e: BeforeUnloadEvent) => e.preventDefault();
    window.addEventListener('beforeunload', h);
    setLeaveGuard(() => window.confirm('This automation has unsaved changes. Leave and lose them?'));
    return () => {
      window.removeEventListener('beforeunload', h);
      setLeaveGuard(null);
    };
  }, [dirty, readOnly]);

  const taken = useCallback(() => new Set(graph.nodes.map((n) => n.id)), [graph.nodes]);

  const addBlock = useCallback(
    (key: string, position?: { x: number; y: number }) => {
      const item = items.find((i) => i.key === key);
      if (!item) return;
      const verdict = canAdd(graph.nodes, item.type);
      if (!verdict.ok) {
        setError(verdict.reason);
        return;
      }
      const schema = item.connector ? connectorById.get(item.connector)?.blocks.find((b) => b.id === item.block)?.input_schema : undefined;
      const block = newBlock(item, taken(), schema, kindOf(item.type).template);
      const anchor = selectedNode;
      // Added from the keyboard: below the selected block, joined to its
      // `next` handle when the rules allow; else in the middle of the view.
      let pos = position;
      if (!pos && anchor) pos = { x: anchor.position.x, y: anchor.position.y + 120 };
      if (!pos) {
        const el = document.querySelector('.canvas')?.getBoundingClientRect();
        pos = el ? flow.screenToFlowPosition({ x: el.left + el.width / 2, y: el.top + el.height / 3 }) : { x: 0, y: 0 };
      }
      g.commit((cur) => {
        const node = { ...makeNode(block, pos), selected: true };
        const nodes = [...cur.nodes.map((n) => (n.selected ? { ...n, selected: false } : n)), node];
        let edges = cur.edges;
        if (!position && anchor && checkConnection(nodes, edges, { source: anchor.id, sourceHandle: 'next', target: block.id }).ok) {
          edges = [...edges, makeEdge(anchor.id, 'next', block.id)];
        }
        return { ...cur, nodes, edges };
      });
      setSelected([block.id]);
    },
    [items, graph.nodes, connectorById, taken, selectedNode, flow, g],
  );

  const onConnectEdge = useCallback(
    (c: Connection) => {
      g.commit((cur) => {
        const v = checkConnection(cur.nodes, cur.edges, c);
        if (!v.ok) return cur;
        return { ...cur, edges: [...cur.edges, makeEdge(c.source, v.branch, c.target)] };
      });
    },
    [g],
  );

  const autoLayout = () => {
    g.commit((cur) => ({ ...cur, nodes: layoutGraph(cur.nodes, cur.edges) }));
    window.setTimeout(() => void flow.fitView({ duration: 200 }), 50);
  };

  const save = useCallback(
    async (force?: number): Promise<boolean> => {
      setSaving(true);
      setError(null);
      setInfo(null);
      const doc = flowToDoc(graph.meta, graph.nodes, graph.edges);
      try {
        const a = await api.replaceAutomation(automation.id, force ?? version, doc);
        setVersion(a.version);
        setSaved(docJson(graph));
        setProblems([]);
        setInfo(`Saved (version ${a.version}).`);
        return true;
      } catch (e) {
        if (e instanceof ApiError && e.code === 'version_conflict') {
          const cv = (e.details as { current_version?: number } | undefined)?.current_version;
          setConflict(cv ?? version + 1);
        } else if (e instanceof ApiError && e.code === 'invalid_automation') {
          setProblems(e.problems);
          setError(`Not saved: ${e.problems.length || 'some'} problem${e.problems.length === 1 ? '' : 's'}. ${e.problems.length ? 'They are shown on the blocks and fields they name.' : e.message}`);
        } else setError(errorMessage(e));
        return false;
      } finally {
        setSaving(false);
      }
    },
    [graph, automation.id, version],
  );

  const reloadTheirs = async () => {
    setConflict(null);
    try {
      const a = await api.getAutomation(automation.id);
      const fresh = loadGraph(a);
      g.reset(fresh);
      setVersion(a.version);
      setSaved(docJson(fresh));
      setProblems([]);
      setInfo(`Loaded version ${a.version}.`);
    } catch (e) {
      setError(errorMessage(e));
    }
  };

  const run = async (input: unknown) => {
    setRunOpen(false);
    if (dirty && !(await save())) return;
    try {
      const r = await api.startRun(automation.id, input);
      follow(r.run_id);
    } catch (e) {
      if (e instanceof ApiError && e.code === 'invalid_automation') setProblems(e.problems);
      setError(errorMessage(e));
    }
  };

  const onKeyDown = (e: React.KeyboardEvent) => {
    if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 's') {
      e.preventDefault();
      if (!saving) void save();
    }
  };

  const updateBlock = (b: DocBlock, field: string) => {
    g.updateBlock(b.id, () => b, `${b.id}:${field}`);
    // A field the user touched is no longer what the server complained about.
    setProblems((ps) => ps.filter((p) => !(p.block === b.id && (p.field.startsWith(field) || field.startsWith(p.field)))));
  };
  const rename = (from: string, to: string) => {
    g.commit((cur) => ({ ...cur, ...renameBlock(cur.nodes, cur.edges, from, to) }));
    setSelected([to]);
  };
  const deleteSelected = (id: string) => {
    g.commit((cur) => ({
      ...cur,
      nodes: cur.nodes.filter((n) => n.id !== id),
      edges: cur.edges.filter((e) => e.source !== id && e.target !== id),
    }));
    setSelected([]);
  };

  const selectOnly = (id: string | null) => {
    g.transient((cur) => ({ ...cur, nodes: cur.nodes.map((n) => (n.selected === (n.id === id) ? n : { ...n, selected: n.id === id })) }));
    setSelected(id ? [id] : []);
  };

  const setBranch = (source: string, branch: Branch, target: string | null) =>
    g.commit((cur) => {
      const edges = cur.edges.filter((e) => !(e.source === source && branchOf(e) === branch));
      if (!target) return { ...cur, edges };
      if (!checkConnection(cur.nodes, edges, { source, sourceHandle: branch, target }).ok) return cur;
      return { ...cur, edges: [...edges, makeEdge(source, branch, target)] };
    });

  const blockSteps = selectedNode ? live.steps.filter((s) => s.block_id === selectedNode.id) : [];

  return (
    <div className="editor" onKeyDown={onKeyDown} data-testid="editor">
      <div className="editor-bar" role="toolbar" aria-label="Editor">
        <h1>{graph.meta.name || automation.id}</h1>
        <span className="help" data-testid="save-state">
          v{version} · {dirty ? 'unsaved changes' : 'saved'}
        </span>
        <button type="button" className="primary" onClick={() => void save()} disabled={readOnly || saving || !dirty} data-testid="save">
          {saving ? 'Saving…' : 'Save'}
        </button>
        <button type="button" onClick={g.undo} disabled={!g.canUndo} aria-keyshortcuts="Control+Z" data-testid="undo">
          Undo
        </button>
        <button type="button" onClick={g.redo} disabled={!g.canRedo} aria-keyshortcuts="Control+Shift+Z" data-testid="redo">
          Redo
        </button>
        <button type="button" onClick={autoLayout} data-testid="auto-layout">
          Auto-layout
        </button>
        <button type="button" onClick={() => void flow.fitView({ duration: 200 })} data-testid="fit-view">
          Fit view
        </button>
        <button
          type="button"
          onClick={() =>
            void api
              .exportAutomation(automation.id)
              .then((doc) => download(`${automation.id}.json`, `${JSON.stringify(doc, null, 2)}\n`))
              .catch((e: unknown) => setError(errorMessage(e)))
          }
          title="Download the saved version as JSON"
          data-testid="export"
        >
          Export
        </button>
        {problems.length > 0 && (
          <button
            type="button"
            className="small"
            onClick={() => {
              // Go to the next block with problems (the document's own ones show with nothing selected).
              const ids = [...problemMap.keys()];
              if (ids.length === 0) return selectOnly(null);
              const next = ids[(ids.indexOf(selected[0] ?? '') + 1) % ids.length];
              selectOnly(next);
              void flow.fitView({ nodes: [{ id: next }], duration: 200, maxZoom: 1 });
            }}
            aria-label={`${problems.length} problems: go to the next one`}
            data-testid="problems-count"
          >
            ⚠ {problems.length} problem{problems.length === 1 ? '' : 's'}
          </button>
        )}
        <span className="spacer" />
        {live.runId && (
          <button type="button" onClick={clear} data-testid="clear-run">
            Hide run
          </button>
        )}
        <Link href={`/automations/${encodeURIComponent(automation.id)}/runs`} className="button">
          Run history
        </Link>
        <button type="button" className="primary" onClick={() => setRunOpen(true)} disabled={readOnly} data-testid="run">
          Run…
        </button>
      </div>
      <Palette items={items} onAdd={(k) => addBlock(k)} />
      <Canvas
        nodes={nodes}
        edges={graph.edges}
        readOnly={readOnly}
        onNodesChange={g.onNodesChange}
        onEdgesChange={g.onEdgesChange}
        onConnectEdge={onConnectEdge}
        onDropItem={(k, p) => addBlock(k, p)}
        onUndo={g.undo}
        onRedo={g.redo}
        onCopy={() => {
          clip.current = copySelection(graph.nodes, graph.edges);
        }}
        onPaste={() => {
          const c = clip.current;
          if (!c) return;
          g.commit((cur) => {
            const pasted = pasteClip(c, cur.nodes);
            return {
              ...cur,
              nodes: [...cur.nodes.map((n) => (n.selected ? { ...n, selected: false } : n)), ...pasted.nodes],
              edges: [...cur.edges, ...pasted.edges],
            };
          });
        }}
        onSelectionChange={setSelected}
        onDeleteSelection={() =>
          g.commit((cur) => {
            const doomed = new Set(cur.nodes.filter((n) => n.selected && n.data.block.type !== 'start').map((n) => n.id));
            const edges = cur.edges.filter((e) => !e.selected && !doomed.has(e.source) && !doomed.has(e.target));
            if (doomed.size === 0 && edges.length === cur.edges.length) return cur;
            return { ...cur, nodes: cur.nodes.filter((n) => !doomed.has(n.id)), edges };
          })
        }
      />
      <aside className="inspector" aria-label="Inspector">
        {readOnly && <InfoNotice>Owned by {automation.owner}: you see it read-only; only its owner changes or runs it.</InfoNotice>}
        <ErrorNotice error={error} onDismiss={() => setError(null)} />
        {info && <InfoNotice>{info}</InfoNotice>}
        {live.run && <RunSummaryPanel run={live.run} statusOnly={live.statusOnly} showLink />}
        {live.error && <ErrorNotice error={live.error} />}
        <RefGroupsContext.Provider value={refGroups}>
          {selectedNode && selectedNode.data.block.type !== 'start' ? (
            <Inspector
              key={selectedNode.id}
              block={selectedNode.data.block}
              connector={selectedNode.data.block.connector ? connectorById.get(selectedNode.data.block.connector) : undefined}
              connections={connections}
              onReloadConnections={() => void api.listConnections().then(setConnections).catch((e: unknown) => setError(errorMessage(e)))}
              variables={Object.keys(graph.meta.variables ?? {})}
              problems={problems.filter((p) => p.block === selectedNode.id)}
              idTaken={(id) => graph.nodes.some((n) => n.id === id)}
              onChange={updateBlock}
              onRename={(to) => rename(selectedNode.id, to)}
              onDelete={() => deleteSelected(selectedNode.id)}
            />
          ) : (
            <AutomationSettings
              meta={graph.meta}
              automationId={automation.id}
              problems={problems}
              onChange={(meta, field) => g.commit((cur) => ({ ...cur, meta }), `meta:${field}`)}
              onVersion={setVersion}
            />
          )}
        </RefGroupsContext.Provider>
        {selectedNode && (
          <BranchEditor id={selectedNode.id} nodes={graph.nodes} edges={graph.edges} onSet={(b, t) => setBranch(selectedNode.id, b, t)} />
        )}
        {selectedNode && live.runId && (
          <section aria-label={`${selectedNode.id} in this run`}>
            <h3>{selectedNode.id} in this run</h3>
            <StepDetails steps={blockSteps} />
          </section>
        )}
      </aside>
      <RunDialog
        open={runOpen}
        initial={JSON.stringify(live.run?.input ?? loaded.lastRun?.run.input ?? {}, null, 2)}
        dirty={dirty}
        onRun={(input) => void run(input)}
        onClose={() => setRunOpen(false)}
      />
      <ConflictDialog
        currentVersion={conflict}
        onCancel={() => setConflict(null)}
        onReload={() => void reloadTheirs()}
        onOverwrite={() => {
          const v = conflict!;
          setConflict(null);
          void save(v);
        }}
      />
    </div>
  );
}

