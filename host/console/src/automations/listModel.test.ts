import { describe, expect, it } from 'vitest';
import type { Automation, RunSummary } from '../api/types';
import { filterRows, idFromName, lastRuns, NO_FILTERS, sortRows, type Row } from './listModel';

const auto = (id: string, over: Partial<Automation> = {}): Automation => ({
  id,
  name: id.toUpperCase(),
  owner: 'alice',
  enabled: true,
  rate_limit_per_minute: null,
  concurrency: null,
  version: 1,
  run_mode: { type: 'manual' },
  created_at: 1,
  updated_at: 1,
  document: { weft: 'automation/v1', id, name: id, blocks: [] },
  ...over,
});
const run = (automation_id: string, created_at: number, status: RunSummary['status']): RunSummary => ({
  id: `${automation_id}-${created_at}`,
  automation_id,
  owner: 'alice',
  status,
  trigger: 'manual',
  created_at,
  started_at: created_at,
  finished_at: created_at + 5,
});

const last = lastRuns([run('a', 30, 'failed'), run('a', 10, 'finished'), run('b', 20, 'finished')]);
const rows: Row[] = [
  auto('a'),
  auto('b', { owner: 'bob', enabled: false, run_mode: { type: 'schedule', schedule: 'daily' } }),
  auto('c', { name: 'Zeta', document: { weft: 'automation/v1', id: 'c', name: 'Zeta', description: 'sends invoices', blocks: [] } }),
].map((a) => ({ automation: a, lastRun: last.get(a.id) ?? null }));

describe('automations list model', () => {
  it('keeps the newest run per automation', () => {
    expect(last.get('a')?.status).toBe('failed');
  });
  it('searches id, name and description', () => {
    expect(filterRows(rows, { ...NO_FILTERS, search: 'invoice' }).map((r) => r.automation.id)).toEqual(['c']);
    expect(filterRows(rows, { ...NO_FILTERS, search: 'B' }).map((r) => r.automation.id)).toEqual(['b']);
  });
  it('filters by owner, enabled, run mode and last status', () => {
    expect(filterRows(rows, { ...NO_FILTERS, owner: 'bob' }).map((r) => r.automation.id)).toEqual(['b']);
    expect(filterRows(rows, { ...NO_FILTERS, enabled: 'enabled' }).map((r) => r.automation.id)).toEqual(['a', 'c']);
    expect(filterRows(rows, { ...NO_FILTERS, runMode: 'schedule' }).map((r) => r.automation.id)).toEqual(['b']);
    expect(filterRows(rows, { ...NO_FILTERS, lastStatus: 'failed' }).map((r) => r.automation.id)).toEqual(['a']);
    expect(filterRows(rows, { ...NO_FILTERS, lastStatus: 'never' }).map((r) => r.automation.id)).toEqual(['c']);
  });
  it('sorts by any column both ways', () => {
    expect(sortRows(rows, 'name', false).map((r) => r.automation.id)).toEqual(['a', 'b', 'c']);
    expect(sortRows(rows, 'name', true).map((r) => r.automation.id)).toEqual(['c', 'b', 'a']);
    expect(sortRows(rows, 'last_run', true).map((r) => r.automation.id)).toEqual(['a', 'b', 'c']);
    expect(sortRows(rows, 'enabled', false).map((r) => r.automation.id)).toEqual(['a', 'c', 'b']);
  });
  it('makes ids from names', () => {
    expect(idFromName('My Flow!', new Set())).toBe('my-flow');
    expect(idFromName('My Flow', new Set(['my-flow']))).toBe('my-flow-2');
    expect(idFromName('***', new Set())).toBe('automation');
  });
});
