import { describe, expect, it } from 'vitest';
import type { DocBlock } from '../api/types';
import { makeEdge, makeNode, type BlockEdge } from './graph';
import { canAdd, checkConnection } from './rules';

const node = (id: string, type: string) => makeNode({ id, type } as DocBlock, { x: 0, y: 0 });
const nodes = [node('Start', 'start'), node('If', 'condition'), node('Each', 'loop'), node('A', 'sleep'), node('B', 'sleep'), node('End', 'stop')];

const check = (edges: BlockEdge[], source: string, handle: string, target: string) =>
  checkConnection(nodes, edges, { source, sourceHandle: handle, target });

describe('checkConnection', () => {
  it('accepts a plain next edge', () => {
    expect(check([], 'Start', 'next', 'A')).toEqual({ ok: true, branch: 'next' });
  });
  it('accepts true/false from a condition and body from a loop', () => {
    expect(check([], 'If', 'true', 'A').ok).toBe(true);
    expect(check([], 'If', 'false', 'A').ok).toBe(true);
    expect(check([], 'Each', 'body', 'A').ok).toBe(true);
  });
  it('refuses branches a block type does not have', () => {
    expect(check([], 'A', 'true', 'B').ok).toBe(false);
    expect(check([], 'A', 'body', 'B').ok).toBe(false);
    expect(check([], 'End', 'next', 'B').ok).toBe(false);
  });
  it('refuses edges into Start and self loops', () => {
    expect(check([], 'A', 'next', 'Start').ok).toBe(false);
    expect(check([], 'A', 'next', 'A').ok).toBe(false);
  });
  it('refuses a second edge from the same handle', () => {
    const edges = [makeEdge('If', 'true', 'A')];
    expect(check(edges, 'If', 'true', 'B').ok).toBe(false);
    expect(check(edges, 'If', 'false', 'B').ok).toBe(true);
  });
  it('refuses a second incoming edge (tree shape)', () => {
    const edges = [makeEdge('Start', 'next', 'A')];
    const v = check(edges, 'If', 'true', 'A');
    expect(v.ok).toBe(false);
    if (!v.ok) expect(v.reason).toMatch(/tree/);
  });
  it('refuses cycles', () => {
    const edges = [makeEdge('A', 'next', 'B'), makeEdge('B', 'next', 'If')];
    const v = check(edges, 'If', 'true', 'A');
    expect(v.ok).toBe(false);
    if (!v.ok) expect(v.reason).toMatch(/cycle/);
  });
});

describe('canAdd', () => {
  it('allows one Start block only', () => {
    expect(canAdd(nodes, 'start').ok).toBe(false);
    expect(canAdd(nodes.slice(1), 'start').ok).toBe(true);
    expect(canAdd(nodes, 'sleep').ok).toBe(true);
  });
});

describe('case and the loop kinds', () => {
  const more = [
    ...nodes,
    makeNode({ id: 'Route', type: 'case', cases: [{ name: 'paid', match: 'paid' }] } as DocBlock, { x: 0, y: 0 }),
    node('Count', 'loop-range'),
    node('Poll', 'loop-while'),
    node('Chunks', 'loop-batch'),
  ];
  const at = (source: string, handle: string) => checkConnection(more, [], { source, sourceHandle: handle, target: 'A' });
  it("accepts a case block's cases and default, and body from every loop kind", () => {
    expect(at('Route', 'case:paid')).toEqual({ ok: true, branch: 'case:paid' });
    expect(at('Route', 'default').ok).toBe(true);
    for (const loop of ['Count', 'Poll', 'Chunks']) expect(at(loop, 'body').ok).toBe(true);
  });
  it('refuses a case the block does not have, and case branches elsewhere', () => {
    expect(at('Route', 'case:open').ok).toBe(false);
    expect(at('If', 'default').ok).toBe(false);
    expect(at('If', 'case:paid').ok).toBe(false);
  });
});
