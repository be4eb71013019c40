// One-time secrets (an automation's execution token and webhook path are
// shown once, at creation or rotation). Kept in memory for this page
// session only, so the editor's Start settings can still show them after
// the list created the automation; never written to storage.
const secrets = new Map<string, { execution_token?: string; webhook_path?: string }>();

export function rememberSecrets(id: string, s: { execution_token?: string; webhook_path?: string }): void {
  secrets.set(id, { ...secrets.get(id), ...s });
}

export function secretsOf(id: string): { execution_token?: string; webhook_path?: string } {
  return secrets.get(id) ?? {};
}
