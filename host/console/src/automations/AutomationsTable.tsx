import { memo } from 'react';
import type { Automation } from '../api/types';
import { Link } from '../app/Link';
import { formatTime } from '../ui/format';
import { StatusBadge } from '../ui/StatusBadge';
import { runModeOf, type Row, type SortKey } from './listModel';

interface Props {
  rows: Row[];
  sort: { key: SortKey; desc: boolean };
  onSort: (key: SortKey) => void;
  isAdmin: boolean;
  currentUser: string;
  onEdit: (a: Automation) => void;
  onRuns: (a: Automation) => void;
  onToggle: (a: Automation) => void;
  onExport: (a: Automation) => void;
  onDuplicate: (a: Automation) => void;
  onDelete: (a: Automation) => void;
  onReassign: (a: Automation) => void;
}

const COLUMNS: { key: SortKey; label: string }[] = [
  { key: 'name', label: 'Name' },
  { key: 'id', label: 'Id' },
  { key: 'owner', label: 'Owner' },
  { key: 'enabled', label: 'Enabled' },
  { key: 'run_mode', label: 'Run mode' },
  { key: 'last_status', label: 'Last run status' },
  { key: 'last_run', label: 'Last run' },
  { key: 'completed', label: 'Completed' },
  { key: 'updated_at', label: 'Updated' },
];

export const AutomationsTable = memo(function AutomationsTable(p: Props) {
  return (
    <table className="data" data-testid="automations-table">
      <thead>
        <tr>
          {COLUMNS.map((c) => {
            const active = p.sort.key === c.key;
            return (
              <th key={c.key} aria-sort={active ? (p.sort.desc ? 'descending' : 'ascending') : 'none'}>
                <button type="button" onClick={() => p.onSort(c.key)} data-testid={`sort-${c.key}`}>
                  {c.label} {active ? (p.sort.desc ? '▼' : '▲') : ''}
                </button>
              </th>
            );
          })}
          <th>Actions</th>
        </tr>
      </thead>
      <tbody>
        {p.rows.length === 0 && (
          <tr>
            <td colSpan={COLUMNS.length + 1} className="empty">
              No automations match.
            </td>
          </tr>
        )}
        {p.rows.map(({ automation: a, lastRun }) => {
          const own = a.owner === p.currentUser;
          const label = a.name ?? a.id;
          return (
            <tr key={a.id} data-testid={`automation-row-${a.id}`}>
              <td>
                {/* Others' automations open read-only (the governance view). */}
                <Link href={`/automations/${encodeURIComponent(a.id)}/edit`} data-testid={`open-${a.id}`}>
                  {label}
                </Link>
                {a.disabled_reason && <div className="help">{a.disabled_reason}</div>}
              </td>
              <td className="mono">{a.id}</td>
              <td>{a.owner}</td>
              <td>{a.enabled ? 'yes' : 'no'}</td>
              <td>{runModeOf(a)}</td>
              <td>
                {lastRun ? (
                  <Link href={`/runs/${encodeURIComponent(lastRun.id)}`} aria-label={`Last run of ${label}: ${lastRun.status}`}>
                    <StatusBadge status={lastRun.status} />
                  </Link>
                ) : (
                  <StatusBadge status={null} />
                )}
              </td>
              <td>{formatTime(lastRun?.created_at)}</td>
              <td>{formatTime(lastRun?.finished_at)}</td>
              <td>{formatTime(a.updated_at)}</td>
              <td className="actions">
                {own && (
                  <button type="button" className="small" onClick={() => p.onEdit(a)} aria-label={`Edit ${label}`} data-testid={`edit-${a.id}`}>
                    Edit
                  </button>
                )}{' '}
                <button type="button" className="small" onClick={() => p.onRuns(a)} aria-label={`Runs of ${label}`} data-testid={`runs-${a.id}`}>
                  Runs
                </button>{' '}
                <button type="button" className="small" onClick={() => p.onToggle(a)} aria-label={`${a.enabled ? 'Disable' : 'Enable'} ${label}`} data-testid={`toggle-${a.id}`}>
                  {a.enabled ? 'Disable' : 'Enable'}
                </button>{' '}
                <button type="button" className="small" onClick={() => p.onExport(a)} aria-label={`Export ${label}`} data-testid={`export-${a.id}`}>
                  Export
                </button>{' '}
                {own && (
                  <button type="button" className="small" onClick={() => p.onDuplicate(a)} aria-label={`Duplicate ${label}`} data-testid={`duplicate-${a.id}`}>
                    Duplicate
                  </button>
                )}{' '}
                {p.isAdmin && (
                  <button type="button" className="small" onClick={() => p.onReassign(a)} aria-label={`Reassign ${label}`} data-testid={`reassign-${a.id}`}>
                    Reassign
                  </button>
                )}{' '}
                <button type="button" className="small" onClick={() => p.onDelete(a)} aria-label={`Delete ${label}`} data-testid={`delete-${a.id}`}>
                  Delete
                </button>
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
});
