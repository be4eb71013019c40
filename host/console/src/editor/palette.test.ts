import { describe, expect, it } from 'vitest';
import type { Connector } from '../api/types';
import { blockSummary, kindOf } from './blockKinds';
import { defaultInputs, newBlock, paletteItems, searchPalette } from './palette';

const http: Connector = {
  id: 'http',
  display_name: 'HTTP',
  description: 'Requests',
  newest: '1.0.0',
  contract: '0.2.0',
  blocks: [
    {
      id: 'request',
      name: 'Request',
      description: 'Send an HTTP request',
      input_schema: { type: 'object', required: ['url', 'method'], properties: { url: { type: 'string' }, method: { enum: ['GET', 'POST'] } } },
    },
  ],
  hosts: [],
  auth: [],
  versions: [],
};

describe('palette', () => {
  const items = paletteItems([http]);
  it('lists standard blocks then connector blocks', () => {
    expect(items[0].key).toBe('std:start');
    expect(items.at(-1)).toMatchObject({ key: 'conn:http/request', group: 'HTTP', label: 'Request' });
  });
  it('searches every word', () => {
    expect(searchPalette(items, 'http send').map((i) => i.key)).toEqual(['conn:http/request']);
    expect(searchPalette(items, 'loop').map((i) => i.key)).toContain('std:loop');
    expect(searchPalette(items, '').length).toBe(items.length);
  });
  it('fills required inputs and picks fresh ids', () => {
    expect(defaultInputs(http.blocks[0].input_schema)).toEqual({ url: '', method: 'GET' });
    const item = items.at(-1)!;
    expect(newBlock(item, new Set(['Request']), http.blocks[0].input_schema)).toEqual({
      id: 'Request2',
      type: 'connector',
      connector: 'http',
      block: 'request',
      inputs: { url: '', method: 'GET' },
    });
    const sleep = items.find((i) => i.type === 'sleep')!;
    expect(newBlock(sleep, new Set(), undefined, kindOf('sleep').template)).toEqual({ id: 'Sleep', type: 'sleep', ms: 1000 });
  });
});

describe('blockSummary', () => {
  it('says what a block does in one line', () => {
    expect(blockSummary({ id: 'R', type: 'connector', connector: 'http', block: 'request', inputs: { url: 'https://x.test/a' } })).toBe('https://x.test/a');
    expect(blockSummary({ id: 'S', type: 'sleep', ms: 500 })).toBe('500 ms');
    expect(blockSummary({ id: 'C', type: 'condition', condition: { clauses: [{ left: '{item.total}', op: '>=', right: 100 }] } })).toBe('{item.total} >= 100');
    expect(blockSummary({ id: 'V', type: 'variable', variable: 'n', action: 'increment' })).toBe('increment n');
    expect(blockSummary({ id: 'X', type: 'start' })).toBeUndefined();
    expect(blockSummary({ id: 'L', type: 'loop', over: 'x'.repeat(80) })!.length).toBe(58);
  });
});
