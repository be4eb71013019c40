// A stand-in for `weft serve` while developing the console without the
// Rust binary: serves dist/ under the production CSP and a small in-memory
// imitation of the API (session, automations, connectors, connections,
// runs with server-sent events, users). Not a test oracle: the real server
// and openapi.json are. Usage: node dev/mock-server.mjs [port]
//
// With WEFT_PROXY=http://127.0.0.1:8080 and WEFT_TOKEN=<an API token> it
// is a session shim in front of a real `weft serve` that has no session
// endpoints yet: it signs anyone in as that token's user and forwards every
// other /api, /hooks and /oauth request with `Authorization: Bearer`.
import { createServer } from 'node:http';
import { readFileSync, existsSync } from 'node:fs';
import { join, extname } from 'node:path';

const port = Number(process.argv[2] ?? 8090);
const proxy = process.env.WEFT_PROXY;
const proxyToken = process.env.WEFT_TOKEN;
const dist = join(import.meta.dirname, '..', 'dist');
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
const now = () => Date.now();
let seq = 0;
const id = (p) => `${p}_${(++seq).toString(36)}${Math.random().toString(36).slice(2, 6)}`;

const users = new Map([['admin', { name: 'admin', role: 'admin', password: 'admin', created_at: now() }], ['bob', { name: 'bob', role: 'user', password: 'bob', created_at: now() }]]);
const sessions = new Map();
const automations = new Map();
const runs = [];
const connections = [];
const http = {
  id: 'http', display_name: 'HTTP', description: 'HTTP requests', newest: '1.0.0', contract: '0.2.0', hosts: ['*'], auth: [{ kind: 'none' }, { kind: 'bearer' }],
  versions: [{ version: '1.0.0', contract: '0.2.0', source: 'bundled', publisher: 'weft', signed: false }], grants: { allow: ['https://api.example.com'], limits: null },
  blocks: [{ id: 'request', name: 'Request', description: 'Send an HTTP request',
    input_schema: { type: 'object', required: ['url'], properties: { url: { type: 'string', description: 'Absolute URL' }, method: { enum: ['GET', 'POST', 'PUT', 'DELETE'], description: 'Default GET' }, query: { type: 'object' }, body: { description: 'JSON body' }, timeout_ms: { type: 'integer' }, follow_redirects: { type: 'boolean' } } },
    output_schema: { type: 'object', properties: { status: { type: 'integer' }, headers: { type: 'object' }, body: { description: 'Parsed JSON or text' } } } }],
};
const slack = {
  id: 'slack', display_name: 'Slack', description: 'Post messages', newest: '0.3.0', contract: '0.2.0', hosts: ['https://slack.com'], auth: [{ kind: 'bearer' }, { kind: 'oauth2-code', client_id: '', authorize_url: 'https://slack.com/oauth/v2/authorize', token_url: 'https://slack.com/api/oauth.v2.access', scopes: ['chat:write'] }],
  versions: [{ version: '0.3.0', contract: '0.2.0', source: 'bundled', publisher: 'weft', signed: false }], grants: { allow: ['https://slack.com'], limits: null },
  blocks: [{ id: 'post-message', name: 'Post message', description: 'Post a message to a channel', input_schema: { type: 'object', required: ['channel', 'text'], properties: { channel: { type: 'string' }, text: { type: 'string' } } }, output_schema: { type: 'object', properties: { ts: { type: 'string' }, channel: { type: 'string' } } } }],
};
const connectors = [http, slack];

function addAutomation(doc, owner) {
  const a = { id: doc.id, name: doc.name, owner, enabled: true, rate_limit_per_minute: null, concurrency: null, version: 1, run_mode: doc.run_mode ?? null, created_at: now(), updated_at: now(), document: doc };
  automations.set(doc.id, a);
  return a;
}
for (const f of ['loop-with-condition', 'retry-on-error']) {
  const p = join(import.meta.dirname, '../../../examples', `${f}.json`);
  if (existsSync(p)) addAutomation(JSON.parse(readFileSync(p, 'utf8')), 'admin');
}

function validate(doc) {
  const problems = [];
  for (const b of doc.blocks ?? []) {
    if (b.type === 'connector') {
      const c = connectors.find((x) => x.id === b.connector);
      const spec = c?.blocks.find((x) => x.id === b.block);
      if (!spec) problems.push({ block: b.id, field: 'block', message: `no block ${b.connector}/${b.block}` });
      for (const r of spec?.input_schema.required ?? []) if (!b.inputs?.[r]) problems.push({ block: b.id, field: `inputs.${r}`, message: `${r} is required` });
    }
    if (b.type === 'loop' && !b.over) problems.push({ block: b.id, field: 'over', message: 'a loop needs a list to go over' });
  }
  if ((doc.blocks ?? []).filter((b) => b.type === 'start').length !== 1) problems.push({ block: null, field: 'blocks', message: 'an automation has exactly one start block' });
  return problems;
}

const send = (res, status, body, headers = {}) => {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(body === undefined ? '' : JSON.stringify(body));
};
const fail = (res, status, code, message, details) => send(res, status, { error: { code, message, ...(details !== undefined ? { details } : {}) } });
const readBody = (req) => new Promise((ok) => { let s = ''; req.on('data', (c) => (s += c)); req.on('end', () => { try { ok(s ? JSON.parse(s) : undefined); } catch { ok(undefined); } }); });
const cookieOf = (req) => /weft_session=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];

const listeners = new Map(); // run id -> Set<res>
function emit(runId, event, data) {
  for (const res of listeners.get(runId) ?? []) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  if (event === 'end') { for (const res of listeners.get(runId) ?? []) res.end(); listeners.delete(runId); }
}

async function execute(run, doc) {
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const children = new Map(doc.edges.map((e) => [`${e.from}:${e.branch ?? 'next'}`, e.to]));
  const byId = new Map(doc.blocks.map((b) => [b.id, b]));
  run.status = 'running'; run.started_at = now(); emit(run.id, 'run', run);
  const step = async (b, iteration) => {
    if (run.status === 'stopping') throw new Error('stopped');
    await sleep(b.type === 'sleep' ? Math.min(Number(b.ms) || 0, 3000) : 250);
    const output = b.type === 'start' ? run.input : b.type === 'connector' ? (b.connector === 'http' ? { status: 200, headers: {}, body: { ok: true, items: [{ name: 'a' }] } } : { ts: '1.2', channel: 'C1' }) : b.type === 'output' ? b.value : null;
    const s = { seq: run.steps.length, block_id: b.id, block_type: b.type, status: 'succeeded', attempts: 1, started_at: now(), duration_us: 1500, input: b.censor ? null : (b.inputs ?? null), output: b.censor ? null : output, error: null, fuel_used: 1000, http_calls: b.connector === 'http' ? [{ method: 'GET', url: b.inputs?.url ?? '', status: 200, error: null, duration_us: 900, request_bytes: 0, response_bytes: 20, request_headers: [['accept', '*/*']], response_headers: [['content-type', 'application/json']], request_body: null, response_body: '{"ok":true}' }] : [], logs: [{ level: 'info', message: `ran ${b.id}`, at_us: 10 }], censored: !!b.censor, input_bytes: 10, output_bytes: 20, ...(iteration ? { iteration } : {}) };
    run.steps.push(s); emit(run.id, 'step', s);
    if (b.type === 'output') run.output = output;
  };
  const chain = async (first, iteration) => {
    for (let cur = first; cur; cur = children.get(`${cur}:next`)) {
      const b = byId.get(cur);
      await step(b, iteration);
      if (b.type === 'condition') await chain(children.get(`${cur}:true`), iteration);
      if (b.type === 'loop') for (let i = 0; i < 2; i++) await chain(children.get(`${cur}:body`), [...(iteration ?? []), i]);
      if (b.type === 'stop') return;
    }
  };
  try { await chain(doc.blocks.find((b) => b.type === 'start')?.id); run.status = 'finished'; } catch { run.status = 'stopped'; }
  run.finished_at = now(); emit(run.id, 'run', run); emit(run.id, 'end', {});
}

const summary = (r) => ({ id: r.id, automation_id: r.automation_id, owner: r.owner, status: r.status, trigger: r.trigger.kind, created_at: r.created_at, started_at: r.started_at, finished_at: r.finished_at });

async function api(req, res, url, user) {
  const p = url.pathname.replace(/^\/api\/v1/, '');
  const m = req.method;
  let g;
  if (p === '/automations' && m === 'GET') {
    const items = [...automations.values()].filter((a) => user.role === 'admin' || a.owner === user.name);
    return send(res, 200, { items, total: items.length, offset: 0, limit: 500, next_cursor: null });
  }
  if (p === '/automations' && m === 'POST') {
    const doc = await readBody(req);
    if (automations.has(doc.id)) return fail(res, 409, 'already_exists', `an automation with id ${doc.id} exists`);
    const problems = validate(doc);
    if (problems.length) return fail(res, 422, 'invalid_automation', 'the automation does not validate', problems);
    return send(res, 201, { ...addAutomation(doc, user.name), execution_token: 'wft_exec_' + id('t'), webhook_path: `/hooks/${doc.id}/${id('s')}` });
  }
  if (p === '/automations/import' && m === 'POST') {
    const body = await readBody(req);
    const doc = body.automation ?? body;
    if (automations.has(doc.id)) return fail(res, 409, 'already_exists', `an automation with id ${doc.id} exists`);
    return send(res, 201, { ...addAutomation(doc, user.name), execution_token: 'wft_exec_x', webhook_path: `/hooks/${doc.id}/s`, connections_mapped: {} });
  }
  if ((g = /^\/automations\/([^/]+)(\/.*)?$/.exec(p))) {
    const a = automations.get(decodeURIComponent(g[1]));
    if (!a) return fail(res, 404, 'not_found', 'no such automation');
    const rest = g[2] ?? '';
    if (rest === '' && m === 'GET') return send(res, 200, a);
    if (rest === '' && m === 'PUT') {
      const body = await readBody(req);
      if (body.version !== a.version) return fail(res, 409, 'version_conflict', `the automation changed (now version ${a.version})`, { current_version: a.version });
      const problems = validate(body.document);
      if (problems.length) return fail(res, 422, 'invalid_automation', 'the automation does not validate', problems);
      Object.assign(a, { document: body.document, name: body.document.name, run_mode: body.document.run_mode ?? null, version: a.version + 1, updated_at: now() });
      return send(res, 200, a);
    }
    if (rest === '' && m === 'PATCH') { Object.assign(a, await readBody(req)); a.version++; return send(res, 200, a); }
    if (rest === '' && m === 'DELETE') { automations.delete(a.id); return send(res, 204); }
    if (rest === '/export') { const { version, owner, ...doc } = a.document; return send(res, 200, doc); }
    if (rest === '/actions/rotate-webhook-secret') { a.version++; return send(res, 200, { webhook_path: `/hooks/${a.id}/${id('s')}`, version: a.version }); }
    if (rest === '/runs' && m === 'POST') {
      const body = (await readBody(req)) ?? {};
      const r = { id: id('run'), automation_id: a.id, automation_version: a.version, automation_name: a.name, owner: a.owner, trigger: { kind: 'manual', detail: { user: user.name } }, status: 'queued', created_at: now(), started_at: null, finished_at: null, input: body.input ?? {}, output: null, error: null, warnings: [], steps: [] };
      runs.unshift(r);
      setTimeout(() => void execute(r, a.document), 300);
      return send(res, 202, { run_id: r.id });
    }
  }
  if (p === '/runs' && m === 'GET') {
    const items = runs.filter((r) => (!url.searchParams.get('automation') || r.automation_id === url.searchParams.get('automation')) && (!url.searchParams.get('status') || url.searchParams.get('status').split(',').includes(r.status)));
    return send(res, 200, { items: items.slice(0, Number(url.searchParams.get('limit') ?? 50)).map(summary), limit: 50, next_cursor: null });
  }
  if ((g = /^\/runs\/([^/]+)(\/.*)?$/.exec(p))) {
    const r = runs.find((x) => x.id === g[1]);
    if (!r) return fail(res, 404, 'not_found', 'no such run');
    if (!g[2]) { const { steps, ...run } = r; return send(res, 200, { run, steps }); }
    if (g[2] === '/stop') { if (['finished', 'failed', 'stopped'].includes(r.status)) return fail(res, 409, 'run_finished', 'the run has ended'); r.status = 'stopping'; return send(res, 202, { run_id: r.id, status: 'stopping' }); }
    if (g[2] === '/events') {
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
      for (const s of r.steps) res.write(`event: step\ndata: ${JSON.stringify(s)}\n\n`);
      if (['finished', 'failed', 'stopped'].includes(r.status)) { res.write('event: end\ndata: {}\n\n'); return res.end(); }
      if (!listeners.has(r.id)) listeners.set(r.id, new Set());
      listeners.get(r.id).add(res);
      return;
    }
  }
  if (p === '/connectors' && m === 'GET') return send(res, 200, { items: connectors, limit: 500, next_cursor: null });
  if ((g = /^\/connectors\/([^/]+)\/grants$/.exec(p)) && m === 'PUT') { const c = connectors.find((x) => x.id === g[1]); c.grants = await readBody(req); return send(res, 200, { id: c.id, grants: c.grants }); }
  if (p === '/connections' && m === 'GET') return send(res, 200, { items: connections, limit: 500, next_cursor: null });
  if (p === '/connections' && m === 'POST') {
    const b = await readBody(req);
    const c = { id: id('conn'), owner: user.name, connector: b.connector, name: b.name, auth_kind: b.auth.kind, auth: { kind: b.auth.kind }, fields: b.fields ?? {}, status: b.auth.kind === 'oauth2-code' ? 'needs_authorization' : 'ok', status_reason: null, expires_at: null, created_at: now(), updated_at: now() };
    connections.push(c);
    return send(res, 201, c);
  }
  if ((g = /^\/connections\/([^/]+)$/.exec(p)) && m === 'DELETE') { connections.splice(connections.findIndex((c) => c.id === g[1]), 1); return send(res, 204); }
  if ((g = /^\/connections\/([^/]+)\/actions\/authorize$/.exec(p))) return send(res, 200, { authorize_url: `/connections?authorized=${g[1]}`, expires_in: 600 });
  if (p === '/users' && m === 'GET') return send(res, 200, { items: [...users.values()].map(({ password, ...u }) => u) });
  if (p === '/users' && m === 'POST') { const b = await readBody(req); users.set(b.name, { name: b.name, role: b.role ?? 'user', created_at: now() }); return send(res, 201, { name: b.name, role: b.role ?? 'user', token: 'wft_' + 'ab'.repeat(32) }); }
  if ((g = /^\/users\/([^/]+)$/.exec(p)) && m === 'PATCH') { const u = users.get(g[1]); Object.assign(u, await readBody(req)); return send(res, 200, { name: u.name, role: u.role }); }
  if ((g = /^\/users\/([^/]+)\/actions\/(set-password|revoke-tokens)$/.exec(p))) { if (g[2] === 'set-password') users.get(g[1]).password = (await readBody(req)).password; return send(res, 204); }
  return fail(res, 404, 'not_found', `no route ${m} ${p}`);
}

async function forward(req, res, url) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const headers = { authorization: `Bearer ${proxyToken}` };
  for (const h of ['content-type', 'accept', 'x-execution-token']) if (req.headers[h]) headers[h] = req.headers[h];
  const answer = await fetch(new URL(url.pathname + url.search, proxy), { method: req.method, headers, body: chunks.length ? Buffer.concat(chunks) : undefined });
  const out = {};
  for (const [k, v] of answer.headers) if (!['content-encoding', 'content-length', 'transfer-encoding', 'connection'].includes(k)) out[k] = v;
  res.writeHead(answer.status, out);
  if (answer.body) for await (const c of answer.body) res.write(c);
  res.end();
}

createServer(async (req, res) => {
  const url = new URL(req.url, 'http://x');
  if (proxy && (url.pathname.startsWith('/api/') || url.pathname.startsWith('/hooks/') || url.pathname.startsWith('/oauth/')) && url.pathname !== '/api/v1/session') {
    const sid = cookieOf(req);
    if (url.pathname.startsWith('/api/') && !(sid && sessions.get(sid))) return fail(res, 401, 'unauthorized', 'sign in first');
    return forward(req, res, url).catch((e) => fail(res, 502, 'internal', String(e)));
  }
  if (url.pathname.startsWith('/api/v1')) {
    const sid = cookieOf(req);
    const sess = sid && sessions.get(sid);
    if (url.pathname === '/api/v1/session') {
      if (req.method === 'POST') {
        const b = await readBody(req);
        const u = users.get(b?.name);
        if (!u || u.password !== b.password) return fail(res, 401, 'invalid_credentials', 'wrong name or password');
        const s = id('sess');
        sessions.set(s, { user: u.name, csrf: id('csrf') });
        return send(res, 200, { user: { name: u.name, role: u.role }, csrf_token: sessions.get(s).csrf }, { 'Set-Cookie': `weft_session=${s}; HttpOnly; SameSite=Strict; Path=/` });
      }
      if (!sess) return fail(res, 401, 'unauthorized', 'sign in first');
      if (req.method === 'DELETE') { sessions.delete(sid); return send(res, 204); }
      const u = users.get(sess.user);
      return send(res, 200, { user: { name: u.name, role: u.role }, csrf_token: sess.csrf });
    }
    if (!sess) return fail(res, 401, 'unauthorized', 'sign in first');
    if (req.method !== 'GET' && req.headers['x-csrf-token'] !== sess.csrf) return fail(res, 403, 'forbidden', 'missing or wrong X-CSRF-Token');
    return api(req, res, url, users.get(sess.user));
  }
  let file = join(dist, url.pathname);
  if (!url.pathname.startsWith('/assets/') || !existsSync(file)) file = join(dist, 'index.html');
  const types = { '.js': 'text/javascript', '.css': 'text/css', '.html': 'text/html; charset=utf-8' };
  res.writeHead(200, { 'Content-Type': types[extname(file)] ?? 'application/octet-stream', 'Content-Security-Policy': CSP });
  res.end(readFileSync(file));
}).listen(port, '127.0.0.1', () => console.log(`mock weft on http://127.0.0.1:${port}`));
