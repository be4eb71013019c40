// Helpers for the console's end-to-end suite: the REST API (admin token),
// a local fake API the http connector calls, the browser-console watcher
// with its allow-list, and small Playwright idioms.
import { createServer } from 'node:http';

export function env(name, fallback) {
  const v = process.env[name] ?? fallback;
  if (v === undefined || v === '') throw new Error(`environment variable ${name} is not set`);
  return v;
}

/** A JSON API client for the server under test (Bearer token). */
export function apiClient(base, token) {
  return async function api(method, path, body, { expect, raw } = {}) {
    const res = await fetch(new URL(path, base), {
      method,
      headers: {
        Authorization: `Bearer ${token}`,
        ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    let json;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    const ok = expect ? (Array.isArray(expect) ? expect.includes(res.status) : res.status === expect) : res.ok;
    if (!ok) {
      throw new Error(`API ${method} ${path} answered ${res.status}: ${text.slice(0, 600)}`);
    }
    return raw ? { status: res.status, json, text } : json;
  };
}

/**
 * The fake third-party API on 127.0.0.1: `/products` (a JSON array) and
 * `/secure` (records the Authorization header, answers 401 without one).
 */
export async function startFakeApi() {
  const seen = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    seen.push({ method: req.method, path: url.pathname, headers: { ...req.headers } });
    const send = (status, body) => {
      const text = JSON.stringify(body);
      res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
      res.end(text);
    };
    if (url.pathname === '/products') {
      return send(200, [
        { sku: 'C-1', name: 'Cable', price: 12 },
        { sku: 'M-1', name: 'Mouse', price: 5 },
        { sku: 'K-1', name: 'Keyboard', price: 30 },
      ]);
    }
    if (url.pathname === '/secure') {
      const auth = req.headers.authorization;
      if (!auth) return send(401, { error: 'no credential' });
      return send(200, { ok: true, greeting: 'hello from the fake API' });
    }
    send(404, { error: 'not found' });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  return { server, port, base: `http://127.0.0.1:${port}`, seen };
}

const RESOURCE_4XX = /^Failed to load resource: the server responded with a status of (\d{3})/;

/**
 * Collects every browser console error and page error. `allow` is the
 * explicit allow-list: Chromium's "Failed to load resource" lines for
 * expected 4xx answers only, each with its status and URL path pattern.
 */
export class ConsoleWatch {
  constructor(allow) {
    this.allow = allow;
    this.allowed = [];
    this.errors = [];
  }
  watch(page, label) {
    page.on('console', (msg) => {
      if (msg.type() !== 'error' && msg.type() !== 'assert') return;
      const text = msg.text();
      const url = msg.location()?.url ?? '';
      const m = RESOURCE_4XX.exec(text);
      if (m) {
        const status = Number(m[1]);
        let path = url;
        try {
          path = new URL(url).pathname;
        } catch {
          /* keep as is */
        }
        const rule = this.allow.find((a) => a.status === status && a.path.test(path) && (!a.when || a.when()));
        if (rule) {
          this.allowed.push({ page: label, status, path, why: rule.why });
          return;
        }
      }
      this.errors.push({ page: label, kind: 'console', text, url });
    });
    page.on('pageerror', (err) => {
      this.errors.push({ page: label, kind: 'pageerror', text: String(err?.stack ?? err) });
    });
  }
}

/** Real pointer drag between two element centres (React Flow handles use pointer events). */
export async function pointerDrag(page, from, to, steps = 12) {
  const a = await from.boundingBox();
  const b = await to.boundingBox();
  if (!a || !b) throw new Error('pointerDrag: an element has no box (not visible?)');
  await page.mouse.move(a.x + a.width / 2, a.y + a.height / 2);
  await page.mouse.down();
  await page.mouse.move(a.x + a.width / 2 + 5, a.y + a.height / 2 + 5, { steps: 3 });
  await page.mouse.move(b.x + b.width / 2, b.y + b.height / 2, { steps });
  await page.mouse.up();
}

export function assert(cond, message) {
  if (!cond) throw new Error(message);
}

export function sameJson(a, b) {
  return JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
}

function sortKeys(v) {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k])]));
  return v;
}
