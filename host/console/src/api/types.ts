// Shapes of the REST API (host/server/openapi.json is the source of truth).
// Only what the console reads is typed; documents keep unknown fields as
// `[key: string]: unknown` so an edit never drops what it does not know.

export type Role = 'admin' | 'user';

export interface SessionUser {
  name: string;
  role: Role;
}

export interface Session {
  user: SessionUser;
  csrf_token: string;
}

export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

export interface ValidationProblem {
  block?: string | null;
  field: string;
  message: string;
}

/**
 * An outgoing handle of a block, as the console draws it: the document's
 * branch, or for a case block's case `case:<name>` (written to the
 * document as `"branch": "case", "case": "<name>"`).
 */
export type Branch = 'next' | 'true' | 'false' | 'body' | 'default' | `case:${string}`;

/** A branch as the document spells it. */
export type DocBranch = 'next' | 'true' | 'false' | 'body' | 'case' | 'default';

export interface DocEdge {
  from: string;
  to: string;
  branch?: DocBranch;
  /** With `branch: "case"`: which case. */
  case?: string;
}

export interface BlockUi {
  x: number;
  y: number;
}

export interface DocBlock {
  id: string;
  type: string;
  description?: string;
  on_error?: 'stop' | 'warning' | 'ignore';
  retry?: { max_attempts: number; backoff_ms?: number; max_backoff_ms?: number } | null;
  censor?: boolean;
  connector?: string;
  block?: string;
  connection?: string | null;
  version?: string | null;
  inputs?: unknown;
  ui?: BlockUi;
  [key: string]: unknown;
}

export type RunMode =
  | { type: 'manual' }
  | { type: 'webhook' }
  | { type: 'api' }
  | { type: 'schedule'; schedule: string; timezone?: string | null; missed?: 'skip' | 'run-once' };

/** The document's own fields; unknown ones are kept through the index signature. */
export interface AutomationDocumentFields {
  weft: 'automation/v1';
  id: string;
  name: string;
  description?: string;
  run_mode?: RunMode;
  variables?: Record<string, unknown>;
  settings?: { deadline_ms?: number | null; fuel_budget?: number | null };
  version?: number;
}

export type AutomationDocument = AutomationDocumentFields & {
  blocks: DocBlock[];
  edges?: DocEdge[];
  [key: string]: unknown;
};

export interface Automation {
  id: string;
  name: string | null;
  owner: string;
  enabled: boolean;
  rate_limit_per_minute: number | null;
  concurrency: number | null;
  version: number;
  run_mode: RunMode | null;
  created_at: number;
  updated_at: number;
  document: AutomationDocument;
  disabled_reason?: string | null;
}

export interface CreatedAutomation extends Automation {
  execution_token: string;
  webhook_path: string;
}

export interface Page<T> {
  items: T[];
  limit: number;
  next_cursor: string | null;
}

export interface AutomationList extends Page<Automation> {
  total: number;
  offset: number;
}

export type RunStatus = 'queued' | 'running' | 'paused' | 'finished' | 'finished-with-warnings' | 'failed' | 'stopped';
export type StepStatus = 'succeeded' | 'failed' | 'warning' | 'ignored';

export interface RunSummary {
  id: string;
  automation_id: string;
  owner: string | null;
  status: RunStatus;
  trigger: string;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  /** Set by an `update-run-title` block; shown to the run's owner only. */
  title?: string;
}

export interface RunRecord {
  id: string;
  automation_id: string;
  automation_version: number;
  automation_name: string;
  owner?: string | null;
  trigger: { kind: string; detail?: unknown };
  status: RunStatus;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  input: unknown;
  output: unknown;
  error: string | null;
  warnings?: string[];
  title?: string;
  /** While `paused`: the form of the `input` block it waits at. */
  waiting_for?: WaitingFor;
}

/** The form a paused run waits for (POST /api/v1/runs/{id}/input answers it). */
export interface WaitingFor {
  block: string;
  iteration?: number[];
  seq: number;
  schema: Record<string, unknown>;
  title?: string;
  message?: string;
  since: number;
  expires_at: number;
}

export interface HttpCall {
  method: string;
  url: string;
  status: number | null;
  error: string | null;
  duration_us: number;
  request_bytes: number;
  response_bytes: number;
  request_headers: [string, string][];
  response_headers: [string, string][];
  request_body: string | null;
  response_body: string | null;
}

export interface LogLine {
  level: 'trace' | 'debug' | 'info' | 'warn' | 'error';
  message: string;
  at_us: number;
}

export interface StepRecord {
  seq: number;
  block_id: string;
  block_type: string;
  target?: string;
  status: StepStatus;
  attempts: number;
  started_at: number;
  duration_us: number;
  iteration?: number[];
  input: unknown;
  output: unknown;
  error: string | null;
  fuel_used: number | null;
  http_calls: HttpCall[];
  logs: LogLine[];
  censored: boolean;
  input_bytes: number;
  output_bytes: number;
  child_run_id?: string;
  connector_version?: string;
}

/** The owner's view (`run` + `steps`) or an admin's status-only view (no `steps`). */
export interface RunLog {
  run: RunRecord;
  steps?: StepRecord[];
}

export type AuthKind = 'api-key' | 'bearer' | 'basic' | 'oauth2-code' | 'oauth2-client-credentials';
export type ConnectionStatus = 'ok' | 'needs_authorization' | 'expired';

export interface Connection {
  id: string;
  owner: string;
  connector: string;
  name: string;
  auth_kind: AuthKind;
  status: ConnectionStatus;
  status_reason?: string | null;
  expires_at: number | null;
  created_at?: number;
  updated_at?: number;
  fields?: Record<string, unknown>;
}

export interface AuthInput {
  kind: AuthKind;
  key?: string;
  token?: string;
  username?: string;
  password?: string;
  client_id?: string;
  client_secret?: string;
}

export interface CreateConnectionRequest {
  connector: string;
  name: string;
  auth: AuthInput;
  fields?: Record<string, string | number | boolean>;
}

export type JsonSchema = Record<string, unknown>;

export interface ConnectorBlockSpec {
  id: string;
  name?: string;
  description?: string;
  input_schema?: JsonSchema;
  output_schema?: JsonSchema;
}

export interface ConnectorGrants {
  allow?: string[];
  limits?: Record<string, unknown> | null;
}

export interface ConnectorVersion {
  version: string;
  contract: string;
  source: 'bundled' | 'file' | 'api';
  publisher: string | null;
  signed: boolean;
}

/** The auth kinds a connection may use; `none` in a manifest means the connector also works without one. */
export const connectionKinds = (c: Pick<Connector, 'auth'> | undefined): AuthKind[] =>
  (c?.auth ?? []).map((a) => a.kind).filter((k): k is AuthKind => k !== 'none');

/** The connector's blocks cannot run without a connection. */
export const connectionRequired = (c: Pick<Connector, 'auth'> | undefined): boolean =>
  !!c && c.auth.length > 0 && !c.auth.some((a) => a.kind === 'none');

export interface Connector {
  id: string;
  display_name: string;
  description: string;
  newest: string;
  contract: string;
  publisher?: string | null;
  blocks: ConnectorBlockSpec[];
  hosts: string[];
  auth: { kind: AuthKind | 'none'; [key: string]: unknown }[];
  versions: ConnectorVersion[];
  grants?: ConnectorGrants;
}

export interface UserEntry {
  name: string;
  role: Role;
  created_at?: number;
}

export interface MissingConnection {
  ref: string;
  connector: string;
  auth_kind: string | null;
  name: string;
  candidates: string[];
}

/** One key of an automation's state between runs (`GET /api/v1/automations/{id}/state`). */
export interface StateEntry {
  key: string;
  value: unknown;
  /** Unix milliseconds of the last write. */
  updated_at: number;
}
