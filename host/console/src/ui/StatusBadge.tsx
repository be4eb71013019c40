import { memo } from 'react';

/** A run's or step's status as a coloured, labelled badge. */
export const StatusBadge = memo(function StatusBadge({ status }: { status: string | null | undefined }) {
  if (!status) return <span className="badge badge-none">never run</span>;
  return (
    <span className={`badge badge-${status}`} data-testid="status-badge">
      {status}
    </span>
  );
});
