import { describe, expect, it } from 'vitest';
import type { DocBlock } from '../api/types';
import { copySelection, pasteClip } from './clipboard';
import { makeEdge, makeNode } from './graph';
import { initHistory, push, redo, undo } from './history';
import { ancestors, pathsFromSchema, pathsFromValue, referenceGroups } from './upstream';

describe('history', () => {
  it('undoes and redoes', () => {
    let h = initHistory(1);
    h = push(h, 2);
    h = push(h, 3);
    h = undo(h);
    expect(h.present).toBe(2);
    h = undo(h);
    expect(h.present).toBe(1);
    h = undo(h);
    expect(h.present).toBe(1);
    h = redo(h);
    expect(h.present).toBe(2);
    h = push(h, 9);
    expect(h.future).toEqual([]);
    expect(redo(h).present).toBe(9);
  });
});

describe('clipboard', () => {
  it('pastes copies with fresh ids, inner edges and rewritten references, never Start', () => {
    const nodes = [
      { ...makeNode({ id: 'Start', type: 'start' }, { x: 0, y: 0 }), selected: true },
      { ...makeNode({ id: 'A', type: 'sleep', ms: 1 } as DocBlock, { x: 0, y: 100 }), selected: true },
      { ...makeNode({ id: 'B', type: 'output', value: '{$.A}' } as DocBlock, { x: 0, y: 200 }), selected: true },
    ];
    const edges = [makeEdge('Start', 'next', 'A'), makeEdge('A', 'next', 'B')];
    const clip = copySelection(nodes, edges)!;
    expect(clip.blocks.map((b) => b.block.id)).toEqual(['A', 'B']);
    const pasted = pasteClip(clip, nodes);
    expect(pasted.nodes.map((n) => n.id)).toEqual(['A2', 'B2']);
    expect(pasted.nodes[1].data.block.value).toBe('{$.A2}');
    expect(pasted.edges.map((e) => [e.source, e.target])).toEqual([['A2', 'B2']]);
    expect(pasted.nodes[0].position).toEqual({ x: 40, y: 140 });
  });
});

describe('upstream references', () => {
  const nodes = [
    makeNode({ id: 'Start', type: 'start' }, { x: 0, y: 0 }),
    makeNode({ id: 'Get', type: 'connector', connector: 'http', block: 'request' } as DocBlock, { x: 0, y: 0 }),
    makeNode({ id: 'Each', type: 'loop', over: '{$.Get.body}' } as DocBlock, { x: 0, y: 0 }),
    makeNode({ id: 'Out', type: 'output', value: '' } as DocBlock, { x: 0, y: 0 }),
    makeNode({ id: 'Other', type: 'sleep', ms: 1 } as DocBlock, { x: 0, y: 0 }),
  ];
  const edges = [makeEdge('Start', 'next', 'Get'), makeEdge('Get', 'next', 'Each'), makeEdge('Each', 'body', 'Out'), makeEdge('Each', 'next', 'Other')];

  it('lists ancestors nearest first and marks loop bodies', () => {
    expect(ancestors(edges, 'Out')).toEqual([
      { id: 'Each', inLoopBody: true },
      { id: 'Get', inLoopBody: false },
      { id: 'Start', inLoopBody: false },
    ]);
    expect(ancestors(edges, 'Other').map((a) => a.inLoopBody)).toEqual([false, false, false]);
  });

  it('derives paths from schemas and values', () => {
    const schema = { type: 'object', properties: { status: { type: 'integer' }, body: { type: 'object', properties: { items: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' } } } } } } } };
    expect(pathsFromSchema('$.Get', schema).map((p) => p.ref)).toEqual([
      '$.Get.status',
      '$.Get.body',
      '$.Get.body.items',
      '$.Get.body.items[0]',
      '$.Get.body.items[0].name',
    ]);
    const withRefs = { type: 'object', $defs: { Item: { type: 'object', properties: { id: { type: 'string' } } } }, properties: { items: { type: 'array', items: { $ref: '#/$defs/Item' } } } };
    expect(pathsFromSchema('$.L', withRefs).map((p) => p.ref)).toEqual(['$.L.items', '$.L.items[0]', '$.L.items[0].id']);
    expect(pathsFromValue('$.Start', { a: [{ b: 1 }], 'odd key': true }).map((p) => p.ref)).toEqual([
      '$.Start.a',
      '$.Start.a[0]',
      '$.Start.a[0].b',
      '$.Start["odd key"]',
    ]);
  });

  it('groups references for a block inside a loop', () => {
    const groups = referenceGroups(
      {
        nodes,
        edges,
        variables: { total: 0 },
        outputSchema: () => ({ type: 'object', properties: { status: { type: 'integer' } } }),
        lastInput: { city: 'Lund' },
      },
      'Out',
    );
    expect(groups.map((g) => g.label)).toEqual(['Each (loop item)', 'Get', 'Start (trigger payload)', 'Variables']);
    expect(groups[0].paths.map((p) => p.ref)).toEqual(['item', '$.Each.item', '$.Each.index']);
    expect(groups[1].paths.map((p) => p.ref)).toEqual(['$.Get', '$.Get.status']);
    expect(groups[2].paths.map((p) => p.ref)).toEqual(['$.Start', '$.Start.city']);
    expect(groups[3].paths.map((p) => p.ref)).toEqual(['$.total']);
  });
});
