// A tiny history router: the server answers index.html for every non-API
// path, so real URLs (/automations/x/edit) work on reload and in links.
import { useSyncExternalStore } from 'react';

const listeners = new Set<() => void>();

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  window.addEventListener('popstate', listener);
  return () => {
    listeners.delete(listener);
    window.removeEventListener('popstate', listener);
  };
}

const snapshot = () => window.location.pathname + window.location.search;

export function useLocation(): string {
  return useSyncExternalStore(subscribe, snapshot, () => '/');
}

// Asked before an in-app navigation (the editor with unsaved changes);
// answering false stays on the page.
let leaveGuard: (() => boolean) | null = null;

export function setLeaveGuard(guard: (() => boolean) | null): void {
  leaveGuard = guard;
}

export function navigate(to: string, replace = false): void {
  if (to === snapshot()) return;
  if (leaveGuard && !leaveGuard()) return;
  if (replace) window.history.replaceState(null, '', to);
  else window.history.pushState(null, '', to);
  for (const l of listeners) l();
}

/** Match `/automations/:id/edit` style patterns; returns the params or null. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const pathOnly = path.split('?')[0];
  const p = pattern.split('/').filter(Boolean);
  const s = pathOnly.split('/').filter(Boolean);
  if (p.length !== s.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    if (p[i].startsWith(':')) params[p[i].slice(1)] = decodeURIComponent(s[i]);
    else if (p[i] !== s[i]) return null;
  }
  return params;
}

export function queryParam(path: string, name: string): string | null {
  const q = path.split('?')[1];
  return q ? new URLSearchParams(q).get(name) : null;
}
