// One typed function per endpoint the console uses.
import { request } from './client';
import type {
  AuthInput,
  Automation,
  AutomationDocument,
  AutomationList,
  Connection,
  Connector,
  ConnectorGrants,
  CreateConnectionRequest,
  CreatedAutomation,
  Page,
  Role,
  RunLog,
  RunSummary,
  Session,
  UserEntry,
} from './types';

const V1 = '/api/v1';
const enc = encodeURIComponent;

// Session
export const getSession = () => request<Session>(`${V1}/session`, { quiet401: true });
export const signIn = (name: string, password: string) =>
  request<Session>(`${V1}/session`, { method: 'POST', body: { name, password }, quiet401: true });
export const signOut = () => request<void>(`${V1}/session`, { method: 'DELETE', quiet401: true });

// Automations
export interface AutomationQuery {
  sort?: string;
  owner?: string;
  enabled?: boolean;
  limit?: number;
  cursor?: string | null;
}
export const listAutomations = (q: AutomationQuery = {}) =>
  request<AutomationList>(`${V1}/automations`, { query: { ...q } });
export const getAutomation = (id: string) => request<Automation>(`${V1}/automations/${enc(id)}`);
export const createAutomation = (document: AutomationDocument) =>
  request<CreatedAutomation>(`${V1}/automations`, { method: 'POST', body: document });
export const replaceAutomation = (id: string, version: number, document: AutomationDocument) =>
  request<Automation>(`${V1}/automations/${enc(id)}`, { method: 'PUT', body: { version, document } });
export const patchAutomation = (
  id: string,
  patch: { enabled?: boolean; owner?: string; rate_limit_per_minute?: number | null; concurrency?: number | null },
) => request<Automation>(`${V1}/automations/${enc(id)}`, { method: 'PATCH', body: patch });
export const deleteAutomation = (id: string) =>
  request<void>(`${V1}/automations/${enc(id)}`, { method: 'DELETE' });
export const exportAutomation = (id: string) =>
  request<AutomationDocument>(`${V1}/automations/${enc(id)}/export`);
export const importAutomation = (body: unknown) =>
  request<CreatedAutomation & { connections_mapped: Record<string, string> }>(`${V1}/automations/import`, {
    method: 'POST',
    body,
  });
export const startRun = (id: string, input: unknown) =>
  request<{ run_id: string }>(`${V1}/automations/${enc(id)}/runs`, { method: 'POST', body: { input } });
export const rotateWebhookSecret = (id: string) =>
  request<{ webhook_path: string; version: number }>(`${V1}/automations/${enc(id)}/actions/rotate-webhook-secret`, {
    method: 'POST',
  });

/** Every page of a paged list (bounded: a console list is not an export). */
export async function allPages<T>(
  fetchPage: (cursor: string | null) => Promise<Page<T>>,
  maxPages = 20,
): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  for (let i = 0; i < maxPages; i++) {
    const page: Page<T> = await fetchPage(cursor);
    items.push(...page.items);
    if (!page.next_cursor) break;
    cursor = page.next_cursor;
  }
  return items;
}

// Runs
export interface RunQuery {
  automation?: string;
  status?: string;
  trigger?: string;
  limit?: number;
  cursor?: string | null;
}
export const listRuns = (q: RunQuery = {}) => request<Page<RunSummary>>(`${V1}/runs`, { query: { ...q } });
export const getRun = (id: string) => request<RunLog>(`${V1}/runs/${enc(id)}`);
export const stopRun = (id: string) =>
  request<{ run_id: string; status: 'stopping' | 'stopped' }>(`${V1}/runs/${enc(id)}/stop`, { method: 'POST' });
export const submitRunInput = (id: string, values: unknown) =>
  request<{ run_id: string; status: string; resumed: boolean }>(`${V1}/runs/${enc(id)}/input`, { method: 'POST', body: values });
export const runEventsUrl = (id: string) => `${V1}/runs/${enc(id)}/events`;

// Connectors
export const listConnectors = () =>
  allPages<Connector>((cursor) => request<Page<Connector>>(`${V1}/connectors`, { query: { limit: 500, cursor } }));
export const setConnectorGrants = (id: string, grants: ConnectorGrants) =>
  request<{ id: string; grants: ConnectorGrants }>(`${V1}/connectors/${enc(id)}/grants`, {
    method: 'PUT',
    body: grants,
  });

// Connections
export const listConnections = (connector?: string) =>
  allPages<Connection>((cursor) =>
    request<Page<Connection>>(`${V1}/connections`, { query: { limit: 500, cursor, connector } }),
  );
export const createConnection = (body: CreateConnectionRequest) =>
  request<Connection>(`${V1}/connections`, { method: 'POST', body });
export const updateConnection = (id: string, body: { name?: string; auth?: AuthInput; fields?: Record<string, string | number | boolean> }) =>
  request<Connection>(`${V1}/connections/${enc(id)}`, { method: 'PATCH', body });
export const deleteConnection = (id: string) => request<void>(`${V1}/connections/${enc(id)}`, { method: 'DELETE' });
export const authorizeConnection = (id: string) =>
  request<{ authorize_url: string; expires_in: number }>(`${V1}/connections/${enc(id)}/actions/authorize`, {
    method: 'POST',
  });

// Users (admins)
export const listUsers = () => request<{ items: UserEntry[] }>(`${V1}/users`);
export const createUser = (name: string, role: Role) =>
  request<UserEntry & { token: string }>(`${V1}/users`, { method: 'POST', body: { name, role } });
export const setUserPassword = (name: string, password: string) =>
  request<void>(`${V1}/users/${enc(name)}/actions/set-password`, { method: 'POST', body: { password } });
export const setUserRole = (name: string, role: Role) =>
  request<UserEntry>(`${V1}/users/${enc(name)}`, { method: 'PATCH', body: { role } });
export const revokeUserTokens = (name: string) =>
  request<void>(`${V1}/users/${enc(name)}/actions/revoke-tokens`, { method: 'POST' });
