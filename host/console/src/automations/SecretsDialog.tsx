import { Dialog } from '../ui/Dialog';
import { CopyField } from '../ui/CopyField';

/** Shows a new automation's execution token and webhook URL, once. */
export function SecretsDialog({
  created,
  onClose,
}: {
  created: { id: string; execution_token?: string; webhook_path?: string } | null;
  onClose: () => void;
}) {
  return (
    <Dialog
      open={created !== null}
      title="Automation created"
      onClose={onClose}
      testId="secrets-dialog"
      actions={
        <button type="button" className="primary" onClick={onClose} data-testid="secrets-close">
          Done
        </button>
      }
    >
      <p>These are shown once; copy them now. The editor's Start block can rotate the webhook URL later.</p>
      {created?.execution_token && <CopyField label="Execution token" value={created.execution_token} testId="secret-token" />}
      {created?.webhook_path && (
        <CopyField label="Webhook URL" value={`${window.location.origin}${created.webhook_path}`} testId="secret-webhook" />
      )}
    </Dialog>
  );
}
