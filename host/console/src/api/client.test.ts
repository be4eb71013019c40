import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError, buildUrl, request, setCsrfToken, setUnauthorizedHandler } from './client';

function answer(status: number, body?: unknown) {
  return vi.fn(async (_url: string, _init?: RequestInit) =>
    new Response(body === undefined ? null : JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } }),
  );
}

afterEach(() => {
  vi.unstubAllGlobals();
  setCsrfToken(null);
  setUnauthorizedHandler(null);
});

describe('api client', () => {
  it('builds query strings without empty values', () => {
    expect(buildUrl('/x', { a: 1, b: '', c: undefined, d: null, e: true })).toBe('/x?a=1&e=true');
    expect(buildUrl('/x')).toBe('/x');
  });

  it('sends the CSRF token on writes only, with same-origin cookies', async () => {
    const fetch = answer(200, { ok: true });
    vi.stubGlobal('fetch', fetch);
    setCsrfToken('tok');
    await request('/a');
    await request('/b', { method: 'POST', body: { x: 1 } });
    const [getInit, postInit] = [fetch.mock.calls[0][1]!, fetch.mock.calls[1][1]!];
    expect((getInit.headers as Record<string, string>)['X-CSRF-Token']).toBeUndefined();
    expect((postInit.headers as Record<string, string>)['X-CSRF-Token']).toBe('tok');
    expect(postInit.credentials).toBe('same-origin');
    expect(postInit.body).toBe('{"x":1}');
  });

  it('turns error answers into ApiError with the stable code and the problems', async () => {
    vi.stubGlobal('fetch', answer(422, { error: { code: 'invalid_automation', message: 'bad', details: [{ block: 'A', field: 'inputs.url', message: 'required' }] } }));
    const e = await request('/x', { method: 'PUT', body: {} }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ApiError);
    expect((e as ApiError).code).toBe('invalid_automation');
    expect((e as ApiError).status).toBe(422);
    expect((e as ApiError).problems).toEqual([{ block: 'A', field: 'inputs.url', message: 'required' }]);
  });

  it('reports a 401 to the session (signed out), except for the quiet session probe', async () => {
    const handler = vi.fn();
    setUnauthorizedHandler(handler);
    vi.stubGlobal('fetch', answer(401, { error: { code: 'unauthorized', message: 'sign in' } }));
    await request('/x').catch(() => undefined);
    expect(handler).toHaveBeenCalledTimes(1);
    await request('/session', { quiet401: true }).catch(() => undefined);
    expect(handler).toHaveBeenCalledTimes(1);
  });

  it('answers undefined for 204 and a network error with code network', async () => {
    vi.stubGlobal('fetch', answer(204));
    expect(await request('/x', { method: 'DELETE' })).toBeUndefined();
    vi.stubGlobal('fetch', vi.fn(async () => Promise.reject(new TypeError('fetch failed'))));
    const e = await request('/x').catch((x: unknown) => x);
    expect((e as ApiError).code).toBe('network');
  });
});
