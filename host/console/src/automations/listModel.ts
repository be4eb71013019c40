// The automations list's filtering and sorting, as pure functions. The
// API filters by owner and enabled and sorts by a few keys; the console
// loads the (bounded) list once and does search, run-mode and last-run
// filters and every column's sort here, so they combine freely.
import type { Automation, RunStatus, RunSummary } from '../api/types';

export interface Row {
  automation: Automation;
  lastRun: RunSummary | null;
}

export type SortKey = 'name' | 'id' | 'owner' | 'enabled' | 'run_mode' | 'last_status' | 'last_run' | 'completed' | 'updated_at';

export interface Filters {
  search: string;
  owner: string;
  enabled: 'all' | 'enabled' | 'disabled';
  runMode: 'all' | 'manual' | 'schedule' | 'webhook' | 'api';
  lastStatus: 'all' | 'never' | RunStatus;
}

export const NO_FILTERS: Filters = { search: '', owner: '', enabled: 'all', runMode: 'all', lastStatus: 'all' };

/** The newest run of each automation, from a newest-first run list. */
export function lastRuns(runs: readonly RunSummary[]): Map<string, RunSummary> {
  const out = new Map<string, RunSummary>();
  for (const r of runs) {
    const seen = out.get(r.automation_id);
    if (!seen || r.created_at > seen.created_at) out.set(r.automation_id, r);
  }
  return out;
}

export const runModeOf = (a: Automation): string => a.run_mode?.type ?? a.document?.run_mode?.type ?? 'manual';

export function filterRows(rows: readonly Row[], f: Filters): Row[] {
  const q = f.search.trim().toLowerCase();
  return rows.filter(({ automation: a, lastRun }) => {
    if (q) {
      const hay = `${a.id} ${a.name ?? ''} ${a.document?.description ?? ''} ${a.owner}`.toLowerCase();
      if (!hay.includes(q)) return false;
    }
    if (f.owner && a.owner !== f.owner) return false;
    if (f.enabled === 'enabled' && !a.enabled) return false;
    if (f.enabled === 'disabled' && a.enabled) return false;
    if (f.runMode !== 'all' && runModeOf(a) !== f.runMode) return false;
    if (f.lastStatus === 'never' && lastRun) return false;
    if (f.lastStatus !== 'all' && f.lastStatus !== 'never' && lastRun?.status !== f.lastStatus) return false;
    return true;
  });
}

function sortValue(row: Row, key: SortKey): string | number {
  const a = row.automation;
  switch (key) {
    case 'name':
      return (a.name ?? a.id).toLowerCase();
    case 'id':
      return a.id.toLowerCase();
    case 'owner':
      return a.owner.toLowerCase();
    case 'enabled':
      return a.enabled ? 0 : 1;
    case 'run_mode':
      return runModeOf(a);
    case 'last_status':
      return row.lastRun?.status ?? '~';
    case 'last_run':
      return row.lastRun?.created_at ?? -1;
    case 'completed':
      return row.lastRun?.finished_at ?? -1;
    case 'updated_at':
      return a.updated_at;
  }
}

export function sortRows(rows: readonly Row[], key: SortKey, descending: boolean): Row[] {
  const dir = descending ? -1 : 1;
  return [...rows].sort((x, y) => {
    const a = sortValue(x, key);
    const b = sortValue(y, key);
    if (a < b) return -dir;
    if (a > b) return dir;
    return x.automation.id < y.automation.id ? -1 : x.automation.id > y.automation.id ? 1 : 0;
  });
}

/** An id for a copy or a new automation: from a name, unique among `taken`. */
export function idFromName(name: string, taken: ReadonlySet<string>): string {
  const base =
    name
      .trim()
      .toLowerCase()
      .replace(/[^a-z0-9_-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 56) || 'automation';
  if (!taken.has(base)) return base;
  for (let i = 2; ; i++) if (!taken.has(`${base}-${i}`)) return `${base}-${i}`;
}
