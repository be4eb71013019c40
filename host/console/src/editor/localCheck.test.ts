import { describe, expect, it } from 'vitest';
import type { Connector, DocBlock } from '../api/types';
import { makeEdge, makeNode } from './graph';
import { localProblems, mergeProblems } from './localCheck';

const slack = {
  id: 'slack',
  auth: [{ kind: 'bearer' }],
  blocks: [{ id: 'post', input_schema: { type: 'object', required: ['channel', 'text'] } }],
} as unknown as Connector;

describe('localProblems', () => {
  const nodes = [
    makeNode({ id: 'Start', type: 'start' }, { x: 0, y: 0 }),
    makeNode({ id: 'Post', type: 'connector', connector: 'slack', block: 'post', inputs: { channel: '#x', text: '' } } as DocBlock, { x: 0, y: 0 }),
    makeNode({ id: 'Each', type: 'loop', over: '' } as DocBlock, { x: 0, y: 0 }),
    makeNode({ id: 'X', type: 'connector', connector: 'nope', block: 'b' } as DocBlock, { x: 0, y: 0 }),
  ];
  const edges = [makeEdge('Start', 'next', 'Post'), makeEdge('Post', 'next', 'Each')];
  it('names empty required inputs, missing connections, orphans and unknown connectors', () => {
    const p = localProblems(nodes, edges, new Map([['slack', slack]]));
    expect(p.map((x) => `${x.block}:${x.field}`)).toEqual(['Post:inputs.text', 'Post:connection', 'Each:over', 'X:edges', 'X:connector']);
  });
  it('asks for no connection when the connector also works without one', () => {
    const http = { id: 'http', auth: [{ kind: 'none' }, { kind: 'bearer' }], blocks: [{ id: 'request', input_schema: { type: 'object' } }] } as unknown as Connector;
    const n = [makeNode({ id: 'Start', type: 'start' }, { x: 0, y: 0 }), makeNode({ id: 'R', type: 'connector', connector: 'http', block: 'request', inputs: {} } as DocBlock, { x: 0, y: 0 })];
    expect(localProblems(n, [makeEdge('Start', 'next', 'R')], new Map([['http', http]]))).toEqual([]);
  });

  it('lets the server name a field first', () => {
    const merged = mergeProblems([{ block: 'Each', field: 'over', message: 'server says' }], localProblems(nodes, edges, new Map([['slack', slack]])));
    expect(merged.filter((m) => m.field === 'over').map((m) => m.message)).toEqual(['server says']);
  });
});
