import { describe, expect, it } from 'vitest';
import { makeNode } from './graph';
import { decorate, problemsByBlock } from './decorate';

describe('decorate', () => {
  const nodes = [makeNode({ id: 'A', type: 'sleep' }, { x: 0, y: 0 }), makeNode({ id: 'B', type: 'sleep' }, { x: 0, y: 0 })];
  it('adds status and problems, reusing unchanged nodes', () => {
    const cache = new Map();
    const problems = problemsByBlock([{ block: 'B', field: 'ms', message: 'required' }, { block: null, field: 'name', message: 'x' }]);
    const one = decorate(nodes, new Map([['A', { status: 'succeeded' as const, count: 2 }]]), problems, cache);
    expect(one[0].data.status).toBe('succeeded');
    expect(one[0].data.stepCount).toBe(2);
    expect(one[1].data.problems).toEqual(['ms: required']);
    const two = decorate(nodes, new Map([['A', { status: 'succeeded' as const, count: 2 }]]), problems, cache);
    expect(two[0]).toBe(one[0]);
    expect(two[1]).toBe(one[1]);
    const plain = decorate(nodes, null, new Map(), cache);
    expect(plain[0]).toBe(nodes[0]);
  });
});
