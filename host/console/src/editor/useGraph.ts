// The editor's graph state with undo/redo. Every user edit is a commit
// (one undo step; typing in one field coalesces into one step); selection
// and the moves during a drag are transient (the drag as a whole is one
// step, recorded when it starts).
import { applyEdgeChanges, applyNodeChanges, type EdgeChange, type NodeChange } from '@xyflow/react';
import { useCallback, useRef, useState } from 'react';
import type { DocBlock } from '../api/types';
import type { BlockEdge, BlockNode, DocMeta } from './graph';
import { initHistory, push, redo, replace, undo, type History } from './history';

export interface Graph {
  meta: DocMeta;
  nodes: BlockNode[];
  edges: BlockEdge[];
}

export function useGraph(initial: Graph) {
  const [hist, setHist] = useState<History<Graph>>(() => initHistory(initial));
  const coalesceKey = useRef<string | null>(null);
  const dragging = useRef(false);

  const commit = useCallback((fn: (g: Graph) => Graph, coalesce?: string) => {
    // Decided outside the updater: React may call an updater twice (strict
    // mode), and it must give the same answer both times.
    const same = coalesce !== undefined && coalesce === coalesceKey.current;
    coalesceKey.current = coalesce ?? null;
    setHist((h) => {
      const next = fn(h.present);
      if (next === h.present) return h;
      return same ? replace(h, next) : push(h, next);
    });
  }, []);

  const transient = useCallback((fn: (g: Graph) => Graph) => {
    setHist((h) => {
      const next = fn(h.present);
      return next === h.present ? h : replace(h, next);
    });
  }, []);

  const onNodesChange = useCallback(
    (changes: NodeChange<BlockNode>[]) => {
      // The canvas already refuses to delete the Start block (onBeforeDelete);
      // the graph state refuses it too, whatever sends the change.
      const kept = changes;
      const structural = kept.some((c) => c.type === 'remove' || c.type === 'add');
      const moves = kept.filter((c) => c.type === 'position');
      const dragNow = moves.some((c) => c.type === 'position' && c.dragging);
      const startsDrag = dragNow && !dragging.current;
      // A move that is no drag at all: the arrow keys on a selected block.
      const keyboardMove = moves.length > 0 && !dragNow && !dragging.current;
      if (moves.length > 0) dragging.current = dragNow;
      const apply = (g: Graph): Graph => {
        const startIds = new Set(g.nodes.filter((n) => n.data.block.type === 'start').map((n) => n.id));
        const effective = kept.filter((c) => c.type !== 'remove' || !startIds.has(c.id));
        if (effective.length === 0) return g;
        const nodes = applyNodeChanges(effective, g.nodes);
        const removed = new Set(effective.filter((c) => c.type === 'remove').map((c) => (c as { id: string }).id));
        const edges = removed.size > 0 ? g.edges.filter((e) => !removed.has(e.source) && !removed.has(e.target)) : g.edges;
        return { ...g, nodes, edges };
      };
      if (structural || startsDrag) {
        coalesceKey.current = null;
        commit(apply);
      } else if (keyboardMove) {
        // Repeated arrow presses on the same blocks are one undo step.
        commit(apply, `move:${moves.map((c) => (c as { id: string }).id).join(',')}`);
      } else {
        transient(apply);
      }
    },
    [commit, transient],
  );

  const onEdgesChange = useCallback(
    (changes: EdgeChange<BlockEdge>[]) => {
      const structural = changes.some((c) => c.type === 'remove' || c.type === 'add');
      const apply = (g: Graph): Graph => {
        const ids = new Set(g.edges.map((e) => e.id));
        const effective = changes.filter((c) => c.type === 'add' || ids.has((c as { id: string }).id));
        if (effective.length === 0) return g;
        return { ...g, edges: applyEdgeChanges(effective, g.edges) };
      };
      if (structural) {
        coalesceKey.current = null;
        commit(apply);
      } else transient(apply);
    },
    [commit, transient],
  );

  /** Replace one block's fields (keeping the node); `coalesce` merges typing into one undo step. */
  const updateBlock = useCallback(
    (id: string, fn: (b: DocBlock) => DocBlock, coalesce?: string) => {
      commit((g) => ({
        ...g,
        nodes: g.nodes.map((n) => (n.id === id ? { ...n, data: { ...n.data, block: fn(n.data.block) } } : n)),
      }), coalesce);
    },
    [commit],
  );

  const reset = useCallback((g: Graph) => {
    coalesceKey.current = null;
    setHist(initHistory(g));
  }, []);

  return {
    graph: hist.present,
    canUndo: hist.past.length > 0,
    canRedo: hist.future.length > 0,
    undo: useCallback(() => {
      coalesceKey.current = null;
      setHist(undo);
    }, []),
    redo: useCallback(() => {
      coalesceKey.current = null;
      setHist(redo);
    }, []),
    commit,
    transient,
    onNodesChange,
    onEdgesChange,
    updateBlock,
    reset,
  };
}
