// The React Flow canvas: drop target for the palette, edge drawing with the
// graph rules, keyboard shortcuts (undo/redo, copy/paste), minimap,
// controls. Presentational: the graph state lives in the editor.
import {
  Background,
  Controls,
  MiniMap,
  ReactFlow,
  useReactFlow,
  type Connection,
  type EdgeChange,
  type FinalConnectionState,
  type NodeChange,
} from '@xyflow/react';
import { useCallback, useEffect, useRef, useState, type DragEvent } from 'react';
import { nodeTypes } from './BlockNode';
import type { BlockEdge, BlockNode } from './graph';
import { DRAG_MIME } from './palette';
import { checkConnection } from './rules';

interface CanvasProps {
  nodes: BlockNode[];
  edges: BlockEdge[];
  readOnly?: boolean;
  onNodesChange?: (changes: NodeChange<BlockNode>[]) => void;
  onEdgesChange?: (changes: EdgeChange<BlockEdge>[]) => void;
  onConnectEdge?: (c: Connection) => void;
  onDropItem?: (key: string, position: { x: number; y: number }) => void;
  onUndo?: () => void;
  onRedo?: () => void;
  onCopy?: () => void;
  onPaste?: () => void;
  /** Delete or Backspace outside a field: delete the selected blocks and edges. */
  onDeleteSelection?: () => void;
  onSelectionChange?: (ids: string[]) => void;
  /** Read-only views select by click (they apply no node changes). */
  onNodeClick?: (id: string | null) => void;
}

const STATUS_COLOR: Record<string, string> = { succeeded: '#1f7a3d', failed: '#b42318', warning: '#9a6200', ignored: '#9a6200', running: '#2457c5' };
const TYPE_COLOR: Record<string, string> = { start: '#2f7d46', condition: '#8a5cd1', loop: '#0f7c90' };

/** Minimap colours: a block's run status, else its type (problems in red). */
function minimapColor(n: BlockNode): string {
  const d = n.data;
  if (d.status) return STATUS_COLOR[d.status] ?? '#9aa5b8';
  if (d.problems && d.problems.length > 0) return '#e07a70';
  return TYPE_COLOR[d.block.type] ?? '#9aa5b8';
}

const isTyping = (el: EventTarget | null) =>
  el instanceof HTMLElement && (el.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName));

export function Canvas(p: CanvasProps) {
  const flow = useReactFlow<BlockNode, BlockEdge>();
  const [message, setMessage] = useState<string | null>(null);
  // A refused edge's reason matters right after the attempt, then goes.
  useEffect(() => {
    if (!message) return;
    const t = window.setTimeout(() => setMessage(null), 6000);
    return () => window.clearTimeout(t);
  }, [message]);

  const isValidConnection = useCallback(
    (c: Connection | BlockEdge) => checkConnection(p.nodes, p.edges, c).ok,
    [p.nodes, p.edges],
  );

  const onConnect = useCallback(
    (c: Connection) => {
      const v = checkConnection(p.nodes, p.edges, c);
      if (!v.ok) setMessage(v.reason);
      else {
        setMessage(null);
        p.onConnectEdge?.(c);
      }
    },
    [p],
  );

  // A drop on a block that the rules refuse: say why instead of doing nothing.
  const onConnectEnd = useCallback(
    (_e: MouseEvent | TouchEvent, state: FinalConnectionState) => {
      if (state.isValid || !state.toNode || !state.fromNode) return;
      const v = checkConnection(p.nodes, p.edges, {
        source: state.fromNode.id,
        sourceHandle: state.fromHandle?.id ?? null,
        target: state.toNode.id,
      });
      if (!v.ok) setMessage(v.reason);
    },
    [p.nodes, p.edges],
  );

  const onDragOver = (e: DragEvent) => {
    if (p.readOnly) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = 'copy';
  };

  const onDrop = (e: DragEvent) => {
    if (p.readOnly) return;
    e.preventDefault();
    const key = e.dataTransfer.getData(DRAG_MIME) || e.dataTransfer.getData('text/plain');
    if (!key) return;
    const pos = flow.screenToFlowPosition({ x: e.clientX, y: e.clientY });
    // Centre the block under the pointer.
    p.onDropItem?.(key, { x: Math.round(pos.x - 110), y: Math.round(pos.y - 34) });
  };

  // Shortcuts listen on the window: clicking the pane focuses nothing, and
  // the user expects Ctrl+Z to work wherever the pointer last was. Typing
  // in a field or a dialog keeps the browser's own undo.
  const keys = useRef(p);
  keys.current = p;
  useEffect(() => {
    const onKeyDown = (e: globalThis.KeyboardEvent) => {
      const k = keys.current;
      if (k.readOnly || isTyping(e.target) || (e.target instanceof Element && e.target.closest('dialog'))) return;
      // Deleting is handled here rather than by React Flow's delete key,
      // which missed the first Delete after a Ctrl+V; here it is always one
      // undo step, and the Start block stays.
      if ((e.key === 'Delete' || e.key === 'Backspace') && !e.ctrlKey && !e.metaKey && !e.altKey) {
        if (!k.onDeleteSelection) return;
        e.preventDefault();
        k.onDeleteSelection();
        return;
      }
      if (!(e.ctrlKey || e.metaKey)) return;
      const key = e.key.toLowerCase();
      if (key === 'z' && !e.shiftKey) k.onUndo?.();
      else if ((key === 'z' && e.shiftKey) || key === 'y') k.onRedo?.();
      // Copying selected text (a run's output, a log) stays the browser's.
      else if (key === 'c' && !window.getSelection()?.toString()) k.onCopy?.();
      else if (key === 'v') k.onPaste?.();
      else return;
      e.preventDefault();
    };
    window.addEventListener('keydown', onKeyDown);
    return () => window.removeEventListener('keydown', onKeyDown);
  }, []);

  // A big automation fitted whole is unreadable at 10%: open on its top
  // (the blocks nearest the Start), readable, and let the minimap show the rest.
  const [fitOptions] = useState(() => {
    if (p.nodes.length <= 40) return { maxZoom: 1, padding: 0.2 };
    const top = [...p.nodes].sort((a, b) => a.position.y - b.position.y).slice(0, 12);
    return { maxZoom: 1, padding: 0.2, nodes: top.map((n) => ({ id: n.id })) };
  });

  const onSelectionChange = p.onSelectionChange;
  const handleSelection = useCallback(
    ({ nodes }: { nodes: BlockNode[] }) => onSelectionChange?.(nodes.map((n) => n.id)),
    [onSelectionChange],
  );

  return (
    <div className="canvas" data-testid="canvas">
      {message && (
        <div className="canvas-message notice notice-error" role="alert" data-testid="canvas-message">
          <span>{message}</span>
          <button type="button" className="link" onClick={() => setMessage(null)} aria-label="Dismiss message">
            ×
          </button>
        </div>
      )}
      <ReactFlow<BlockNode, BlockEdge>
        nodes={p.nodes}
        edges={p.edges}
        nodeTypes={nodeTypes}
        onNodesChange={p.onNodesChange}
        onEdgesChange={p.onEdgesChange}
        onConnect={onConnect}
        onConnectEnd={onConnectEnd}
        isValidConnection={isValidConnection}
        onDragOver={onDragOver}
        onDrop={onDrop}
        onSelectionChange={handleSelection}
        onNodeClick={p.onNodeClick ? (_e, n) => p.onNodeClick?.(n.id) : undefined}
        onPaneClick={p.onNodeClick ? () => p.onNodeClick?.(null) : undefined}
        nodesDraggable={!p.readOnly}
        nodesConnectable={!p.readOnly}
        edgesFocusable={!p.readOnly}
        deleteKeyCode={null}
        // Off-screen nodes are not rendered in big automations (200+ blocks).
        onlyRenderVisibleElements={p.nodes.length > 80}
        // Performance marks the end-to-end tests read (README: 200 blocks).
        onInit={() => performance.mark('weft:canvas-ready')}
        fitView
        // A new automation is one Start block: do not zoom it up to 200%.
        fitViewOptions={fitOptions}
        minZoom={0.1}
        maxZoom={2}
        defaultEdgeOptions={{ type: 'smoothstep' }}
      >
        <Background gap={16} />
        <MiniMap<BlockNode> pannable zoomable ariaLabel="Minimap" nodeColor={minimapColor} />
        <Controls aria-label="Zoom and fit view" />
      </ReactFlow>
    </div>
  );
}
