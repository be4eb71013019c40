import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AutomationDocument } from '../api/types';
import { docToFlow, flowToDoc, handlesOf, makeEdge, NODE_HEIGHT, NODE_WIDTH, renameBlock } from './graph';
import { chains, layoutGraph } from './layout';

const examplesDir = join(__dirname, '../../../../examples');
const examples: [string, AutomationDocument][] = readdirSync(examplesDir)
  .filter((f) => f.endsWith('.json'))
  .map((f) => [f, JSON.parse(readFileSync(join(examplesDir, f), 'utf8')) as AutomationDocument]);

/** The document with every block's `ui` removed (what the engine reads). */
function withoutUi(doc: AutomationDocument): AutomationDocument {
  return { ...doc, blocks: doc.blocks.map(({ ui: _ui, ...b }) => b) } as AutomationDocument;
}

describe('docToFlow / flowToDoc', () => {
  it('finds the examples', () => {
    expect(examples.length).toBeGreaterThanOrEqual(5);
  });

  for (const [name, doc] of examples) {
    it(`round-trips ${name} (all but the added positions)`, () => {
      const flow = docToFlow(doc);
      expect(flow.needsLayout).toBe(true);
      const back = flowToDoc(flow.meta, flow.nodes, flow.edges);
      expect(withoutUi(back)).toEqual({ ...doc, edges: doc.edges ?? [] });
    });
  }

  it('round-trips a document with positions exactly', () => {
    const doc: AutomationDocument = {
      weft: 'automation/v1',
      id: 'a',
      name: 'A',
      blocks: [
        { id: 'Start', type: 'start', ui: { x: 1, y: 2 } },
        { id: 'C', type: 'condition', condition: { clauses: [] }, future_field: { keep: [1, 2] }, ui: { x: 10, y: 20 } },
        { id: 'N', type: 'stop', ui: { x: 30, y: 40 } },
      ],
      edges: [
        { from: 'Start', to: 'C', branch: 'next' },
        { from: 'C', to: 'N', branch: 'true' },
      ],
      variables: { x: 1 },
      something_new: 'kept',
    };
    const flow = docToFlow(doc);
    expect(flow.needsLayout).toBe(false);
    expect(flow.nodes.map((n) => n.position)).toEqual([
      { x: 1, y: 2 },
      { x: 10, y: 20 },
      { x: 30, y: 40 },
    ]);
    expect(flowToDoc(flow.meta, flow.nodes, flow.edges)).toEqual(doc);
  });

  it('writes branch only when not next or when it was explicit', () => {
    const edges = [makeEdge('A', 'next', 'B'), makeEdge('B', 'true', 'C'), makeEdge('C', 'next', 'D', true)];
    const doc = flowToDoc({ weft: 'automation/v1', id: 'x', name: 'x' }, [], edges);
    expect(doc.edges).toEqual([
      { from: 'A', to: 'B' },
      { from: 'B', to: 'C', branch: 'true' },
      { from: 'C', to: 'D', branch: 'next' },
    ]);
  });

  it('renames a block in edges and references', () => {
    const doc = examples.find(([n]) => n === 'retry-on-error.json')![1];
    const flow = docToFlow(doc);
    const r = renameBlock(flow.nodes, flow.edges, 'GetRates', 'Rates');
    const back = flowToDoc(flow.meta, r.nodes, r.edges);
    expect(back.blocks.map((b) => b.id)).toContain('Rates');
    expect(back.edges).toContainEqual({ from: 'Start', to: 'Rates' });
    expect(back.edges).toContainEqual({ from: 'Rates', to: 'GetRecommendations' });
    const prices = back.blocks.find((b) => b.id === 'Prices')!;
    expect(JSON.stringify(prices.value)).toContain('$.Rates.body.base');
    expect(JSON.stringify(back)).not.toContain('$.GetRates');
  });
});

describe('handlesOf', () => {
  it('places handles where BlockNode draws them', () => {
    expect(handlesOf('start').map((h) => h.id)).toEqual(['next']);
    const cond = handlesOf('condition');
    expect(cond.map((h) => [h.id, h.type])).toEqual([
      ['true', 'source'],
      ['false', 'source'],
      ['next', 'source'],
      ['in', 'target'],
    ]);
    // Centres: a quarter, half and three quarters along the bottom; the input on top.
    expect(cond.map((h) => [h.x + 5, h.y + 5])).toEqual([
      [NODE_WIDTH / 4, NODE_HEIGHT],
      [NODE_WIDTH / 2, NODE_HEIGHT],
      [(NODE_WIDTH * 3) / 4, NODE_HEIGHT],
      [NODE_WIDTH / 2, 0],
    ]);
    expect(handlesOf('stop').map((h) => h.id)).toEqual(['in']);
  });
});

describe('layout', () => {
  it('lays out a graph without positions top to bottom, no two blocks overlapping', () => {
    const doc = examples.find(([n]) => n === 'loop-with-condition.json')![1];
    const flow = docToFlow(doc);
    const laid = layoutGraph(flow.nodes, flow.edges);
    const pos = new Map(laid.map((n) => [n.id, n.position]));
    expect(pos.get('Start')!.y).toBeLessThan(pos.get('EachOrder')!.y);
    expect(pos.get('EachOrder')!.y).toBeLessThan(pos.get('IsBig')!.y);
    expect(pos.get('IsBig')!.y).toBeLessThan(pos.get('AddBig')!.y);
    for (const a of laid) {
      for (const b of laid) {
        if (a.id < b.id) {
          const apart = Math.abs(a.position.x - b.position.x) >= 220 || Math.abs(a.position.y - b.position.y) >= 68;
          expect(apart, `${a.id} overlaps ${b.id}`).toBe(true);
        }
      }
    }
  });

  it('orders siblings true, body, false, next from left to right', () => {
    const doc = examples.find(([n]) => n === 'loop-with-condition.json')![1];
    const flow = docToFlow(doc);
    const x = new Map(layoutGraph(flow.nodes, flow.edges).map((n) => [n.id, n.position.x]));
    expect(x.get('AddBig')!).toBeLessThan(x.get('CountSmall')!);
    expect(x.get('CountSmall')!).toBeLessThan(x.get('AddRevenue')!);
    expect(x.get('IsBig')!).toBeLessThan(x.get('Summary')!);
  });

  it('keeps the positions it is told to keep', () => {
    const doc = examples[0][1];
    const flow = docToFlow(doc);
    flow.nodes[0].position = { x: 999, y: 999 };
    const laid = layoutGraph(flow.nodes, flow.edges, (n) => n.id === flow.nodes[0].id);
    expect(laid[0].position).toEqual({ x: 999, y: 999 });
  });

  it('finds chains, breaking at branches and joins', () => {
    const edges = [makeEdge('S', 'next', 'A'), makeEdge('A', 'next', 'B'), makeEdge('B', 'true', 'C'), makeEdge('B', 'next', 'D'), makeEdge('D', 'next', 'E')];
    expect(chains(['S', 'A', 'B', 'C', 'D', 'E'], edges)).toEqual([['S', 'A', 'B'], ['C'], ['D', 'E']]);
    // A cycle (invalid, but it must not hang) and an orphan.
    expect(chains(['X', 'Y', 'Z'], [makeEdge('X', 'next', 'Y'), makeEdge('Y', 'next', 'X')])).toEqual([['Z'], ['X', 'Y']]);
  });

  it('lays out 200 blocks quickly', () => {
    const blocks = [{ id: 'Start', type: 'start' }, ...Array.from({ length: 199 }, (_, i) => ({ id: `B${i}`, type: 'sleep', ms: 1 }))];
    const edges = blocks.slice(1).map((b, i) => ({ from: i === 0 ? 'Start' : `B${i - 1}`, to: b.id }));
    const flow = docToFlow({ weft: 'automation/v1', id: 'big', name: 'big', blocks, edges });
    const t0 = performance.now();
    const laid = layoutGraph(flow.nodes, flow.edges);
    const ms = performance.now() - t0;
    expect(laid).toHaveLength(200);
    expect(ms).toBeLessThan(1000);
  });
});

describe('case blocks', () => {
  const doc: AutomationDocument = {
    weft: 'automation/v1',
    id: 'c',
    name: 'C',
    blocks: [
      { id: 'Start', type: 'start' },
      { id: 'Route', type: 'case', value: '{$.Start.s}', cases: [{ name: 'paid', match: ['paid', 'settled'] }, { name: 'open', match: 'open' }] },
      { id: 'P', type: 'stop' },
      { id: 'O', type: 'stop' },
      { id: 'D', type: 'stop' },
    ],
    edges: [
      { from: 'Start', to: 'Route' },
      { from: 'Route', to: 'P', branch: 'case', case: 'paid' },
      { from: 'Route', to: 'O', branch: 'case', case: 'open' },
      { from: 'Route', to: 'D', branch: 'default' },
    ],
  };

  it('draws a handle per case, then default and next', () => {
    const route = docToFlow(doc).nodes.find((n) => n.id === 'Route');
    expect(route?.handles?.filter((h) => h.type === 'source').map((h) => h.id)).toEqual(['case:paid', 'case:open', 'default', 'next']);
  });

  it('round-trips case edges with their case names', () => {
    const flow = docToFlow(doc);
    expect(flow.edges.map((e) => e.sourceHandle)).toEqual(['next', 'case:paid', 'case:open', 'default']);
    expect(flow.edges[1].label).toBe('paid');
    expect(withoutUi(flowToDoc(flow.meta, flow.nodes, flow.edges))).toEqual(doc);
  });
});
