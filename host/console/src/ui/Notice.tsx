// Error and success messages: a polite live region so screen readers
// announce them, with the server's `message` as the text.
import type { ReactNode } from 'react';

export function ErrorNotice({ error, onDismiss }: { error: string | null; onDismiss?: () => void }) {
  if (!error) return null;
  return (
    <div className="notice notice-error" role="alert" data-testid="error">
      <span>{error}</span>
      {onDismiss && (
        <button type="button" className="link" onClick={onDismiss} aria-label="Dismiss error">
          ×
        </button>
      )}
    </div>
  );
}

export function InfoNotice({ children }: { children: ReactNode }) {
  return (
    <div className="notice notice-info" role="status">
      {children}
    </div>
  );
}
