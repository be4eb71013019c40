// The fetch wrapper every API call goes through: same-origin cookies, the
// CSRF header on writes, and one error type carrying the server's stable
// `code` so screens branch on it rather than on HTTP statuses or text.
import type { ErrorBody, ValidationProblem } from './types';

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: unknown;

  constructor(status: number, code: string, message: string, details?: unknown) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details;
  }

  /** The `{block, field, message}` problems of an `invalid_automation` answer. */
  get problems(): ValidationProblem[] {
    return this.code === 'invalid_automation' && Array.isArray(this.details)
      ? (this.details as ValidationProblem[])
      : [];
  }
}

// Kept in memory only (never in storage): a script injected elsewhere
// cannot read it, and a reload fetches it again from GET /session.
let csrfToken: string | null = null;
let onUnauthorized: (() => void) | null = null;

export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

/** Called when a request answers 401 `unauthorized` (session expired). */
export function setUnauthorizedHandler(handler: (() => void) | null): void {
  onUnauthorized = handler;
}

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  body?: unknown;
  query?: Record<string, string | number | boolean | undefined | null>;
  signal?: AbortSignal;
  /** Do not call the unauthorized handler (the session probe itself). */
  quiet401?: boolean;
}

export function buildUrl(path: string, query?: RequestOptions['query']): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== null && value !== '') params.set(key, String(value));
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

export async function request<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const method = options.method ?? 'GET';
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  let response: Response;
  try {
    response = await fetch(buildUrl(path, options.query), {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      credentials: 'same-origin',
      signal: options.signal,
    });
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network', 'The server could not be reached. Check that weft serve is running.');
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let parsed: unknown = undefined;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
  }
  if (!response.ok) {
    const err = (parsed as ErrorBody | undefined)?.error;
    const apiError = new ApiError(
      response.status,
      err?.code ?? `http_${response.status}`,
      err?.message ?? `The server answered ${response.status} ${response.statusText}.`,
      err?.details,
    );
    if (response.status === 401 && !options.quiet401 && onUnauthorized) onUnauthorized();
    throw apiError;
  }
  return parsed as T;
}

/** A human message for any thrown value. */
export function errorMessage(e: unknown): string {
  if (e instanceof ApiError) return e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}
