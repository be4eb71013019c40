// End-to-end suite for the Weft console, driven by Playwright (playwright-core)
// with Debian's Chromium against a REAL `weft serve`.
//
//   WEFT_URL=http://127.0.0.1:PORT WEFT_ADMIN_PASSWORD=… WEFT_ADMIN_TOKEN=… \
//   WEFT_ARTIFACTS=/tmp/artifacts node host/console/e2e/console.e2e.mjs
//
// Each check is a named step (the acceptance tests of issue 12); the script
// prints each one as it passes, writes screenshots and report.json into
// WEFT_ARTIFACTS, exits 0 when every check passed and 1 (naming the failed
// checks) otherwise. A global timeout stops it with exit code 2.
import { mkdirSync, readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { apiClient, assert, ConsoleWatch, env, pointerDrag, sameJson, startFakeApi } from './helpers.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '../../..');
const DIST_ASSETS = resolve(HERE, '../dist/assets');
const EXAMPLES = join(REPO, 'examples');

const GLOBAL_TIMEOUT_MS = Number(process.env.WEFT_E2E_TIMEOUT_MS ?? 225_000);
const started = Date.now();
const globalTimer = setTimeout(() => {
  console.error(`FAILED: global timeout: the suite did not finish within ${GLOBAL_TIMEOUT_MS / 1000} s (last check: ${current ?? 'none'})`);
  try {
    writeReport({ timed_out: true });
  } catch {
    /* best effort */
  }
  process.exit(2);
}, GLOBAL_TIMEOUT_MS);

const BASE = env('WEFT_URL').replace(/\/$/, '');
const ADMIN_PASSWORD = env('WEFT_ADMIN_PASSWORD');
const ADMIN_TOKEN = env('WEFT_ADMIN_TOKEN');
const ARTIFACTS = resolve(env('WEFT_ARTIFACTS'));
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
mkdirSync(ARTIFACTS, { recursive: true });
{
  const u = new URL(BASE);
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname)) throw new Error(`WEFT_URL must be on loopback, got ${BASE}`);
}

// WEFT_API_URL: only for developing the suite behind the dev session shim (dev/mock-server.mjs).
const api = apiClient(process.env.WEFT_API_URL || BASE, ADMIN_TOKEN);
const ANN_PASSWORD = 'ann-password-e2e-123';
const CONNECTION_TOKEN = 'fake-bearer-token-e2e-42';

const report = {
  url: BASE,
  started_at: new Date(started).toISOString(),
  checks: [],
  load_200_blocks_ms: null,
  marks: {},
  bundle: null,
  console_errors: [],
  console_allowed: [],
  screenshots: [],
};
let current = null;
const failures = [];

function writeReport(extra = {}) {
  report.duration_ms = Date.now() - started;
  Object.assign(report, extra);
  writeFileSync(join(ARTIFACTS, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
}

// Expected 4xx answers only (Chromium logs each as "Failed to load resource").
const watch = new ConsoleWatch([
  { status: 401, path: /^\/api\/v1\/session$/, why: 'session probe before sign-in, and the deliberate wrong password' },
  {
    status: 422,
    path: /^\/api\/v1\/automations\/e2e-demo$/,
    when: () => current?.startsWith('3 '),
    why: 'the deliberate invalid save of check 3 (validation)',
  },
  {
    status: 422,
    path: /^\/api\/v1\/runs\/[^/]+\/input$/,
    when: () => current?.startsWith('12 '),
    why: 'the deliberate incomplete form of check 12 (the input block)',
  },
]);

async function shot(page, name) {
  const file = join(ARTIFACTS, name);
  await page.screenshot({ path: file, fullPage: false });
  report.screenshots.push(name);
}

/** Runs one named check; a failure is recorded (with a screenshot) and the suite goes on unless `fatal`. */
async function check(name, fn, { fatal = false, page } = {}) {
  current = name;
  const t0 = Date.now();
  try {
    const detail = await fn();
    const ms = Date.now() - t0;
    report.checks.push({ name, ok: true, ms, ...(detail ? { detail } : {}) });
    console.log(`✓ ${name} (${ms} ms)`);
  } catch (e) {
    const ms = Date.now() - t0;
    const message = (e?.message ?? String(e)).split('\n').slice(0, 12).join('\n');
    report.checks.push({ name, ok: false, ms, error: message });
    failures.push({ name, message });
    console.error(`✗ ${name} (${ms} ms): ${message}`);
    const pages = [typeof page === 'function' ? page() : page].flat().filter(Boolean);
    for (const [i, p] of pages.entries()) {
      try {
        await p.screenshot({ path: join(ARTIFACTS, `failed-${name.replace(/[^a-z0-9]+/gi, '-').toLowerCase().slice(0, 60)}${i ? `-${i + 1}` : ''}.png`) });
      } catch {
        /* the page may be gone */
      }
    }
    if (fatal) throw new Error(`check "${name}" failed: ${message}`);
  } finally {
    current = null;
  }
}

const tid = (page, id) => page.getByTestId(id);

async function signIn(page, name, password) {
  await page.goto(`${BASE}/`);
  await tid(page, 'signin-form').waitFor();
  await tid(page, 'signin-name').fill(name);
  await tid(page, 'signin-password').fill(password);
  await tid(page, 'signin-submit').click();
  await tid(page, 'current-user').waitFor();
  const who = await tid(page, 'current-user').innerText();
  assert(who.includes(name), `signed in, but the shell shows user "${who}", not ${name}`);
}

/** Creates an automation through the list page's dialog; lands in its editor. */
async function createInUi(page, name, id) {
  await tid(page, 'nav-automations').click();
  await tid(page, 'create-automation').click();
  await tid(page, 'create-name').fill(name);
  await tid(page, 'create-id').fill(id);
  await tid(page, 'create-submit').click();
  await page.waitForURL(`**/automations/${id}/edit`);
  await tid(page, 'block-Start').waitFor();
}

async function save(page) {
  const put = page.waitForResponse((r) => /\/api\/v1\/automations\/[^/]+$/.test(new URL(r.url()).pathname) && r.request().method() === 'PUT', { timeout: 15_000 });
  put.catch(() => {});
  await tid(page, 'save').click();
  const res = await put;
  if (res.status() !== 200) {
    const text = await res.text().catch(() => '');
    let details = [];
    try {
      details = JSON.parse(text).error?.details ?? [];
    } catch {
      /* not JSON */
    }
    const path = new URL(res.url()).pathname;
    if (res.status() === 422 && details.length > 0 && details.every((d) => d.field === 'ui')) {
      throw new Error(
        `SERVER BUG: PUT ${path} refuses the per-block "ui" field the console saves (openapi.json documents AutomationBlockUi): 422 ${details
          .map((d) => `${d.block}.${d.field}: ${d.message}`)
          .join('; ')
          .slice(0, 400)}`,
      );
    }
    throw new Error(`save: PUT ${path} answered ${res.status()}: ${text.slice(0, 700)}`);
  }
  await page.waitForFunction(
    () => document.querySelector('[data-testid=save-state]')?.textContent?.includes('saved') &&
      !document.querySelector('[data-testid=save-state]')?.textContent?.includes('unsaved'),
    null,
    { timeout: 15_000 },
  ).catch(async () => {
    const err = await page.locator('.inspector .notice-error').allInnerTexts().catch(() => []);
    throw new Error(`save did not reach "saved" (save-state: ${await tid(page, 'save-state').innerText()}; errors: ${err.join(' | ')})`);
  });
}

/** Opens the run dialog, starts a run with `input`, waits for the run to end; returns the final status text. */
async function runFromEditor(page, input, { wait = true } = {}) {
  await tid(page, 'run').click();
  await tid(page, 'run-dialog').waitFor();
  await tid(page, 'run-input').fill(JSON.stringify(input));
  await tid(page, 'run-start').click();
  await tid(page, 'run-summary').waitFor({ timeout: 20_000 });
  if (!wait) return null;
  return waitRunEnd(page);
}

async function waitRunEnd(page, timeout = 30_000) {
  const badge = tid(page, 'run-summary').locator('h2 [data-testid=status-badge]');
  await page.waitForFunction(
    () => {
      const t = document.querySelector('[data-testid=run-summary] h2 [data-testid=status-badge]')?.textContent ?? '';
      return ['finished', 'finished-with-warnings', 'failed', 'stopped'].includes(t.trim());
    },
    null,
    { timeout },
  );
  return (await badge.innerText()).trim();
}

/** The text of an element if it is there now (no waiting), else ''. */
async function textIfAny(locator) {
  return (await locator.count()) > 0 ? locator.first().innerText() : '';
}

async function blockStatus(page, id) {
  const el = tid(page, `block-status-${id}`);
  if ((await el.count()) === 0) return null;
  return (await el.innerText()).trim();
}

async function edgeCount(page) {
  return page.locator('.react-flow__edge').count();
}

async function main() {
  console.log(`Weft console e2e against ${BASE} (Chromium: ${CHROMIUM}); artifacts in ${ARTIFACTS}`);
  // The bundle's size first: it needs no server.
  const jsFiles = readdirSync(DIST_ASSETS).filter((f) => f.endsWith('.js')).sort();
  const perFile = Object.fromEntries(jsFiles.map((f) => [f, gzipSync(readFileSync(join(DIST_ASSETS, f)), { level: 9 }).length]));
  const totalGz = Object.values(perFile).reduce((a, b) => a + b, 0);
  report.bundle = { js_gzip_bytes: totalGz, js_gzip_kib: +(totalGz / 1024).toFixed(1), files: perFile };

  const fake = await startFakeApi();
  console.log(`fake API on ${fake.base}`);

  // Set-up through the REST API: grant the http connector the fake API's host.
  const connectors = await api('GET', '/api/v1/connectors?limit=500');
  const ids = (connectors.items ?? []).map((c) => c.id);
  assert(ids.includes('http') && ids.includes('lists'), `the server lacks the http or lists connector (has: ${ids.join(', ')})`);
  await api('PUT', '/api/v1/connectors/http/grants', { allow: [fake.base] });

  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
  const adminCtx = await browser.newContext({ viewport: { width: 1440, height: 900 }, acceptDownloads: true });
  adminCtx.setDefaultTimeout(15_000);
  const page = await adminCtx.newPage();
  watch.watch(page, 'admin');
  // Leaving an editor with unsaved changes asks (confirm / beforeunload):
  // the suite always means to leave. Every dialog is recorded.
  report.dialogs = [];
  adminCtx.on('dialog', (d) => {
    report.dialogs.push({ type: d.type(), message: d.message() });
    void d.accept().catch(() => {});
  });
  let annPage = null;

  try {
    // ---------------------------------------------------------------- 1
    await check(
      '1 sign in (wrong password shows the error, then admin signs in)',
      async () => {
        await page.goto(`${BASE}/`);
        await tid(page, 'signin-form').waitFor();
        await shot(page, 'sign-in.png');
        await tid(page, 'signin-name').fill('admin');
        await tid(page, 'signin-password').fill(`${ADMIN_PASSWORD}-wrong`);
        await tid(page, 'signin-submit').click();
        const alert = tid(page, 'signin-form').getByRole('alert');
        await alert.waitFor();
        const text = await alert.innerText();
        assert(text.includes('Wrong name or password.'), `the sign-in error says "${text}", not "Wrong name or password."`);
        await tid(page, 'signin-password').fill(ADMIN_PASSWORD);
        await tid(page, 'signin-submit').click();
        await tid(page, 'current-user').waitFor();
        assert((await tid(page, 'current-user').innerText()).includes('admin'), 'the shell does not show admin as the user');
        await tid(page, 'automations-table').waitFor();
      },
      { fatal: true, page },
    );

    // ---------------------------------------------------------------- 11
    await check(
      '11 keyboard: Tab reaches "New automation" with a visible focus style',
      async () => {
        await page.evaluate(() => {
          document.activeElement?.blur?.();
          window.scrollTo(0, 0);
        });
        await page.mouse.click(5, 895); // a neutral spot: focus starts from the document
        let reached = false;
        const trail = [];
        for (let i = 0; i < 40 && !reached; i++) {
          await page.keyboard.press('Tab');
          const tidNow = await page.evaluate(() => document.activeElement?.getAttribute('data-testid') ?? document.activeElement?.tagName);
          trail.push(tidNow);
          reached = tidNow === 'create-automation';
        }
        assert(reached, `Tab never focused create-automation; focus went through: ${trail.join(' → ')}`);
        const style = await page.evaluate(() => {
          const el = document.activeElement;
          const cs = getComputedStyle(el);
          return { focusVisible: el.matches(':focus-visible'), outlineStyle: cs.outlineStyle, outlineWidth: cs.outlineWidth, boxShadow: cs.boxShadow };
        });
        assert(style.focusVisible, 'the focused button does not match :focus-visible');
        const visible = (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 1) || (style.boxShadow && style.boxShadow !== 'none');
        assert(visible, `no visible focus style on create-automation: ${JSON.stringify(style)}`);
        await page.screenshot({ path: join(ARTIFACTS, 'keyboard-focus.png') });
        return { tabs: trail.length, style };
      },
      { page },
    );

    // ---------------------------------------------------------------- 2
    let demoOk = false;
    await check(
      '2 build an automation from an empty canvas by drag and drop, map a field, save, run, see output and history',
      async () => {
        await createInUi(page, 'E2E demo: cheapest product', 'e2e-demo');
        const pane = page.locator('.react-flow__pane');
        const paneBox = await pane.boundingBox();
        // The lone Start block sits in the middle of the pane at 100%; a
        // dropped block is centred on the pointer. Drop the three around it,
        // clear of it, the minimap (bottom right) and the controls (bottom left).
        const W = paneBox.width;
        const H = paneBox.height;
        const drops = [
          ['palette-conn:http/request', 'Request', { x: Math.round(W / 2 - 240), y: 90 }],
          ['palette-conn:lists/sort', 'Sort', { x: Math.round(W / 2 + 240), y: 90 }],
          ['palette-std:output', 'Output', { x: Math.round(W / 2 + 240), y: Math.round(H / 2 + 130) }],
        ];
        for (const [item, id, pos] of drops) {
          await tid(page, 'palette-search').fill('');
          const source = tid(page, item);
          await source.dragTo(pane, { targetPosition: pos });
          await tid(page, `block-${id}`).waitFor({ timeout: 5000 }).catch(() => {
            throw new Error(`dragging ${item} onto the canvas did not add block ${id} (HTML5 drag and drop)`);
          });
        }
        // Connect handle to handle: Start → Request → Sort → Output.
        const chain = ['Start', 'Request', 'Sort', 'Output'];
        for (let i = 0; i + 1 < chain.length; i++) {
          const before = await edgeCount(page);
          await pointerDrag(page, tid(page, `handle-${chain[i]}-next`), tid(page, `block-${chain[i + 1]}`).locator('.react-flow__handle.target'));
          await page.waitForFunction((n) => document.querySelectorAll('.react-flow__edge').length > n, before, { timeout: 5000 }).catch(() => {
            throw new Error(`dragging from handle-${chain[i]}-next to ${chain[i + 1]}'s input handle drew no edge`);
          });
        }
        await tid(page, 'auto-layout').click();
        // Inspector forms.
        await tid(page, 'block-Request').click();
        await tid(page, 'input-url').fill(`${fake.base}/products`);
        await tid(page, 'block-Sort').click();
        await tid(page, 'input-list-map').click();
        await tid(page, 'mapping-picker').waitFor();
        await tid(page, 'ref-$.Request.body').click();
        const mapped = await tid(page, 'input-list').inputValue();
        assert(mapped.trim() === '{$.Request.body}', `the picker inserted "${mapped}", not {$.Request.body}`);
        await tid(page, 'input-field').fill('price');
        await tid(page, 'block-Output').click();
        await tid(page, 'inspector-mode').selectOption('set');
        await tid(page, 'inspector-value').fill('{"cheapest": "{$.Sort.list[0].name}", "count": "{$.Sort.count}"}');
        await save(page);
        const doc = await api('GET', '/api/v1/automations/e2e-demo');
        const d = doc.document ?? doc;
        const edges = (d.edges ?? []).map((e) => `${e.from}->${e.to}`).sort();
        assert(sameJson(edges, ['Request->Sort', 'Sort->Output', 'Start->Request'].sort()), `saved edges are ${edges.join(', ')}`);
        const sort = d.blocks.find((b) => b.id === 'Sort');
        assert(sort?.inputs?.list === '{$.Request.body}', `saved Sort.inputs.list is ${JSON.stringify(sort?.inputs?.list)}`);
        if (!process.env.WEFT_E2E_DEV_SHIM) assert(d.blocks.every((b) => b.ui && typeof b.ui.x === 'number'), 'saved blocks lack ui positions');

        const status = await runFromEditor(page, { note: 'e2e' });
        const runErr = await textIfAny(tid(page, 'run-error'));
        assert(status === 'finished', `the run ended "${status}" ${runErr}`);
        const out = JSON.parse(await tid(page, 'run-output').innerText());
        assert(sameJson(out, { cheapest: 'Mouse', count: 3 }), `run output is ${JSON.stringify(out)}`);
        for (const id of ['Start', 'Request', 'Sort', 'Output']) {
          await page.waitForFunction((x) => document.querySelector(`[data-testid=block-status-${x}]`)?.textContent?.includes('succeeded'), id, { timeout: 10_000 }).catch(async () => {
            throw new Error(`block ${id} shows status "${await blockStatus(page, id)}" on the canvas, not succeeded`);
          });
        }
        // Per-block history in the editor: the Sort block's step.
        await tid(page, 'block-Sort').click();
        const steps = tid(page, 'step-details');
        await steps.waitFor();
        const sortOut = await steps.getByTestId('step-output').first().innerText();
        assert(sortOut.includes('Mouse') && sortOut.includes('"count": 3'), `Sort's step output is ${sortOut.slice(0, 200)}`);
        await shot(page, 'editor.png');
        // The run view: canvas with statuses and each block's steps.
        await tid(page, 'open-run').click();
        await page.waitForURL('**/runs/*');
        await tid(page, 'run-summary').waitFor();
        await tid(page, 'block-status-Request').waitFor();
        await tid(page, 'block-Request').click();
        await page.getByRole('heading', { name: /Steps of Request/ }).waitFor();
        const reqIn = await tid(page, 'step-input').first().innerText();
        assert(reqIn.includes(`${fake.base}/products`), `the run view's Request step input is ${reqIn.slice(0, 200)}`);
        const reqOut = await tid(page, 'step-output').first().innerText();
        assert(reqOut.includes('Keyboard'), `the run view's Request step output lacks the API's body: ${reqOut.slice(0, 200)}`);
        await shot(page, 'run.png');
        demoOk = true;
        return { run_status: status, output: out };
      },
      { page },
    );

    // ---------------------------------------------------------------- 3
    await check(
      '3 a validation error shown on the right block and field',
      async () => {
        assert(demoOk, 'needs the automation of check 2');
        await page.goto(`${BASE}/automations/e2e-demo/edit`);
        await tid(page, 'block-Sort').click();
        await tid(page, 'input-list').fill('{$.Nope.list}');
        const put = page.waitForResponse((r) => r.url().endsWith('/api/v1/automations/e2e-demo') && r.request().method() === 'PUT');
        put.catch(() => {});
        await tid(page, 'save').click();
        const res = await put;
        const body = await res.json().catch(() => null);
        assert(res.status() === 422, `saving a reference to a missing block answered ${res.status()}: ${JSON.stringify(body).slice(0, 300)}`);
        const field = page.locator('.field', { has: tid(page, 'input-list') });
        const err = field.getByTestId('field-error');
        await err.first().waitFor({ timeout: 5000 }).catch(() => {
          throw new Error(`no field-error under Sort's list field; the server answered ${JSON.stringify(body).slice(0, 400)}`);
        });
        const msg = await err.first().innerText();
        await tid(page, 'block-problems-Sort').waitFor();
        // The other blocks carry no problem.
        assert((await tid(page, 'block-problems-Request').count()) === 0, 'block Request shows problems too');
        assert(/unsaved/.test(await tid(page, 'save-state').innerText()), 'save-state does not say unsaved after a refused save');
        await page.screenshot({ path: join(ARTIFACTS, 'validation.png') });
        // Put it right: the document is the saved one again and the problem goes.
        await tid(page, 'input-list').fill('{$.Request.body}');
        await page.waitForFunction(() => /· saved/.test(document.querySelector('[data-testid=save-state]')?.textContent ?? ''), null, { timeout: 5000 }).catch(async () => {
          throw new Error(`after putting the reference back, save-state says ${await tid(page, 'save-state').innerText()}`);
        });
        assert((await tid(page, 'block-problems-Sort').count()) === 0, 'the problem stays on Sort after fixing the field');
        return { field_error: msg };
      },
      { page },
    );

    // ---------------------------------------------------------------- 4
    await check(
      '4 import an example through the file chooser, export it, same blocks',
      async () => {
        const file = join(EXAMPLES, 'fetch-and-filter.json');
        const original = JSON.parse(readFileSync(file, 'utf8'));
        await tid(page, 'nav-automations').click();
        await tid(page, 'automations-table').waitFor();
        const [chooser] = await Promise.all([page.waitForEvent('filechooser'), tid(page, 'import-automation').click()]);
        await chooser.setFiles(file);
        await tid(page, 'secrets-dialog').waitFor();
        await tid(page, 'secrets-close').click();
        const row = tid(page, `automation-row-${original.id}`);
        await row.waitFor();
        assert((await row.innerText()).includes(original.name), 'the imported row does not show the automation name');
        await shot(page, 'automations.png');
        const [download] = await Promise.all([page.waitForEvent('download'), tid(page, `export-${original.id}`).click()]);
        const path = await download.path();
        const exported = JSON.parse(readFileSync(path, 'utf8'));
        writeFileSync(join(ARTIFACTS, `exported-${original.id}.json`), JSON.stringify(exported, null, 2));
        assert(exported.id === original.id, `exported id ${exported.id}`);
        const strip = (blocks) => blocks.map(({ ui: _ui, ...b }) => b);
        assert(
          sameJson(strip(exported.blocks), strip(original.blocks)),
          `exported blocks differ from examples/fetch-and-filter.json: ${JSON.stringify(exported.blocks).slice(0, 300)}`,
        );
        assert(sameJson(exported.edges, original.edges), 'exported edges differ from the example');
        return { file: download.suggestedFilename(), blocks: exported.blocks.length };
      },
      { page },
    );

    // ---------------------------------------------------------------- 6
    await check(
      '6 a connection created on the Connections page and used by a block',
      async () => {
        await tid(page, 'nav-connections').click();
        await tid(page, 'new-connection').click();
        await tid(page, 'connection-form').waitFor();
        await tid(page, 'connection-connector').selectOption('http');
        await tid(page, 'connection-name').fill('fake-api-bearer');
        await tid(page, 'connection-kind').selectOption('bearer');
        await tid(page, 'connection-token').fill(CONNECTION_TOKEN);
        await tid(page, 'connection-submit').click();
        const list = await (async () => {
          for (let i = 0; i < 30; i++) {
            const l = await api('GET', '/api/v1/connections');
            const c = (l.items ?? []).find((x) => x.name === 'fake-api-bearer');
            if (c) return c;
            await page.waitForTimeout(200);
          }
          throw new Error('the connection created in the form is not in GET /api/v1/connections');
        })();
        const connId = list.id;
        await tid(page, `connection-row-${connId}`).waitFor();
        const rowText = await tid(page, `connection-row-${connId}`).innerText();
        assert(!rowText.includes(CONNECTION_TOKEN), 'the connections table shows the secret');
        assert((await tid(page, 'connection-token').count()) === 0 || (await tid(page, 'connection-token').inputValue()) === '', 'the token field still holds the secret');
        await shot(page, 'connections.png');

        await createInUi(page, 'E2E use a connection', 'e2e-connection');
        await tid(page, 'block-Start').click();
        await tid(page, 'palette-conn:http/request').click(); // keyboard/click path: below the selection, joined
        await tid(page, 'block-Request').waitFor();
        assert((await edgeCount(page)) === 1, 'adding below Start did not join the blocks');
        await tid(page, 'input-url').fill(`${fake.base}/secure`);
        await tid(page, 'inspector-connection').selectOption(connId);
        await tid(page, 'palette-std:output').click();
        await tid(page, 'block-Output').waitFor();
        await tid(page, 'inspector-mode').selectOption('set');
        await tid(page, 'inspector-value').fill('{"greeting": "{$.Request.body.greeting}", "status": "{$.Request.status}"}');
        await save(page);
        const saved = await api('GET', '/api/v1/automations/e2e-connection');
        const req = (saved.document ?? saved).blocks.find((b) => b.id === 'Request');
        assert(req?.connection === connId, `the saved Request block's connection is ${JSON.stringify(req?.connection)}, not ${connId}`);
        const before = fake.seen.filter((s) => s.path === '/secure').length;
        const status = await runFromEditor(page, {});
        const runErr = await textIfAny(tid(page, 'run-error'));
        assert(status === 'finished', `the run with the connection ended "${status}" ${runErr}`);
        const hits = fake.seen.filter((s) => s.path === '/secure').slice(before);
        assert(hits.length >= 1, 'the fake API never received the request');
        assert(hits[0].headers.authorization === `Bearer ${CONNECTION_TOKEN}`, `the fake API received Authorization ${JSON.stringify(hits[0].headers.authorization)}`);
        // The history must not hold the secret.
        const out = await tid(page, 'run-output').innerText();
        assert(out.includes('hello from the fake API'), `the run output is ${out.slice(0, 200)}`);
        await tid(page, 'block-Request').click();
        const stepText = await tid(page, 'step-details').innerText();
        assert(!stepText.includes(CONNECTION_TOKEN), 'the step details show the connection secret');
        return { connection: connId };
      },
      { page },
    );

    // ---------------------------------------------------------------- 7
    await check(
      '7 live progress: a sleep block shows "running" on the canvas before the run ends',
      async () => {
        await api('POST', '/api/v1/automations', {
          weft: 'automation/v1',
          id: 'e2e-sleep',
          name: 'E2E live progress',
          blocks: [
            { id: 'Start', type: 'start' },
            { id: 'Before', type: 'output', mode: 'add', value: 'before' },
            { id: 'Nap', type: 'sleep', ms: 2000 },
            { id: 'After', type: 'output', mode: 'add', value: 'after' },
          ],
          edges: [
            { from: 'Start', to: 'Before' },
            { from: 'Before', to: 'Nap' },
            { from: 'Nap', to: 'After' },
          ],
        });
        await page.goto(`${BASE}/automations/e2e-sleep/edit`);
        await tid(page, 'block-Nap').waitFor();
        const t0 = Date.now();
        await runFromEditor(page, {}, { wait: false });
        await page
          .waitForFunction(() => document.querySelector('[data-testid=block-status-Nap]')?.textContent?.includes('running'), null, { timeout: 15_000, polling: 50 })
          .catch(async () => {
            throw new Error(`block Nap never showed "running" (now: ${await blockStatus(page, 'Nap')}; run: ${(await textIfAny(tid(page, 'run-summary').locator('h2'))) || '?'})`);
          });
        const seenRunningAt = Date.now() - t0;
        const afterMeanwhile = await blockStatus(page, 'After');
        const runMeanwhile = (await tid(page, 'run-summary').locator('h2 [data-testid=status-badge]').innerText()).trim();
        assert(afterMeanwhile === null, `block After already shows "${afterMeanwhile}" while Nap shows running`);
        assert(!['finished', 'finished-with-warnings', 'failed', 'stopped'].includes(runMeanwhile), `the run is already ${runMeanwhile} while Nap shows running`);
        await page.screenshot({ path: join(ARTIFACTS, 'live-running.png') });
        const status = await waitRunEnd(page);
        assert(status === 'finished', `the sleep run ended ${status}`);
        await page.waitForFunction(
          () => ['Nap', 'After'].every((x) => document.querySelector(`[data-testid=block-status-${x}]`)?.textContent?.includes('succeeded')),
          null,
          { timeout: 10_000 },
        );
        return { running_seen_after_ms: seenRunningAt, finished_after_ms: Date.now() - t0 };
      },
      { page },
    );

    // ---------------------------------------------------------------- 5
    await check(
      '5 governance: admin sees ann\'s automation and run status, not the log contents',
      async () => {
        await api('POST', '/api/v1/users', { name: 'ann', role: 'user' }, { expect: 201 });
        await api('POST', '/api/v1/users/ann/actions/set-password', { password: ANN_PASSWORD }, { expect: 204 });
        const annCtx = await browser.newContext({ viewport: { width: 1440, height: 900 } });
        annCtx.setDefaultTimeout(15_000);
        annCtx.on('dialog', (d) => {
          report.dialogs.push({ type: d.type(), message: d.message(), user: 'ann' });
          void d.accept().catch(() => {});
        });
        annPage = await annCtx.newPage();
        watch.watch(annPage, 'ann');
        await signIn(annPage, 'ann', ANN_PASSWORD);
        await createInUi(annPage, "Ann's private report", 'ann-report');
        await tid(annPage, 'block-Start').click();
        await tid(annPage, 'palette-std:output').click();
        await tid(annPage, 'block-Output').waitFor();
        await tid(annPage, 'inspector-mode').selectOption('set');
        await tid(annPage, 'inspector-value').fill('{"secret": "{$.Start.word}"}');
        await save(annPage);
        const status = await runFromEditor(annPage, { word: 'ann-private-payload' });
        assert(status === 'finished', `ann's run ended ${status}`);
        assert((await tid(annPage, 'run-output').innerText()).includes('ann-private-payload'), 'ann does not see her own output');

        // Admin: the list shows ann's automation with its last run status.
        await tid(page, 'nav-automations').click();
        const row = tid(page, 'automation-row-ann-report');
        await row.waitFor();
        const rowText = await row.innerText();
        assert(rowText.includes('ann'), `the row does not name the owner ann: ${rowText}`);
        const last = row.getByRole('link', { name: /Last run of .*: finished$/ });
        await last.waitFor({ timeout: 10_000 }).catch(() => {
          throw new Error(`the admin's list shows no last run status "finished" for ann-report: ${rowText}`);
        });
        assert((await tid(page, 'edit-ann-report').count()) === 0, 'the admin gets an Edit button on ann\'s automation');
        await last.click();
        await page.waitForURL('**/runs/*');
        await tid(page, 'run-summary').waitFor();
        const badge = (await tid(page, 'run-summary').locator('h2 [data-testid=status-badge]').innerText()).trim();
        assert(badge === 'finished', `the admin sees status ${badge}`);
        await page.getByText("You see this run's status only").waitFor();
        assert((await tid(page, 'run-output').count()) === 0, 'the admin sees the run output');
        assert((await tid(page, 'step-details').count()) === 0, 'the admin sees step details');
        const html = await page.content();
        assert(!html.includes('ann-private-payload'), 'the admin\'s page contains ann\'s payload');
        await page.screenshot({ path: join(ARTIFACTS, 'admin-run-status-only.png') });
        return { ann_run: status, admin_sees: badge };
      },
      { page: () => [page, annPage] },
    );

    // ---------------------------------------------------------------- admin page
    await check(
      '10b admin page: users (ann among them) and connectors',
      async () => {
        await tid(page, 'nav-admin').click();
        await tid(page, 'users-table').waitFor();
        await tid(page, 'user-row-ann').waitFor();
        await shot(page, 'admin.png');
      },
      { page },
    );

    // ---------------------------------------------------------------- runs page
    await check(
      '10a run history page',
      async () => {
        await tid(page, 'nav-runs').click();
        await tid(page, 'runs-table').waitFor();
        await page.locator('[data-testid^=run-row-]').first().waitFor();
        await shot(page, 'runs.png');
      },
      { page },
    );

    // ---------------------------------------------------------------- 8
    await check(
      '8 a 200-block automation opens (timing reported, not judged)',
      async () => {
        const blocks = [{ id: 'Start', type: 'start' }];
        const edges = [];
        for (let i = 1; i < 200; i++) {
          blocks.push({ id: `B${i}`, type: 'output', mode: 'add', value: i });
          edges.push({ from: i === 1 ? 'Start' : `B${i - 1}`, to: `B${i}` });
        }
        await api('POST', '/api/v1/automations', { weft: 'automation/v1', id: 'e2e-big', name: 'E2E 200 blocks', blocks, edges });
        const t0 = Date.now();
        await page.goto(`${BASE}/automations/e2e-big/edit`);
        await tid(page, 'block-Start').waitFor({ timeout: 30_000 });
        await page.waitForFunction(() => performance.getEntriesByName('weft:canvas-ready').length > 0, null, { timeout: 30_000 });
        const wall = Date.now() - t0;
        const marks = await page.evaluate(() =>
          Object.fromEntries(performance.getEntriesByType('mark').filter((m) => m.name.startsWith('weft:')).map((m) => [m.name, Math.round(m.startTime)])),
        );
        const nav = await page.evaluate(() => {
          const n = performance.getEntriesByType('navigation')[0];
          return n ? { dom_content_loaded: Math.round(n.domContentLoadedEventEnd), load: Math.round(n.loadEventEnd) } : null;
        });
        // Interactive: a click selects a block and the inspector answers.
        const t1 = Date.now();
        await tid(page, 'block-B1').click();
        await tid(page, 'inspector').waitFor();
        const clickMs = Date.now() - t1;
        report.load_200_blocks_ms = marks['weft:canvas-ready'] ?? null;
        report.marks = { ...marks, navigation: nav, wall_clock_goto_to_canvas_ms: wall, first_click_to_inspector_ms: clickMs };
        await page.screenshot({ path: join(ARTIFACTS, 'editor-200-blocks.png') });
        return { canvas_ready_ms: report.load_200_blocks_ms, marks: report.marks };
      },
      { page },
    );

    // ---------------------------------------------------------------- 12
    await check(
      '12 a paused run shows its input form; a refused submission names the field, an accepted one resumes the run',
      async () => {
        const approval = JSON.parse(readFileSync(join(EXAMPLES, 'input-approval.json'), 'utf8'));
        await api('POST', '/api/v1/automations', { ...approval, id: 'e2e-approval', name: 'E2E approval' });
        const started = await api('POST', '/api/v1/automations/e2e-approval/runs', { input: {} });
        const runId = started.run_id;
        await page.goto(`${BASE}/runs/${encodeURIComponent(runId)}`);
        await tid(page, 'input-form').waitFor({ timeout: 20_000 });
        await tid(page, 'input-form').getByText('Approve the expense').waitFor();
        const badge = await textIfAny(tid(page, 'run-summary').locator('[data-testid=status-badge]').first());
        assert(badge === 'paused', `status badge says ${JSON.stringify(badge)}`);
        // Nothing filled in: the server refuses, naming the missing field.
        await tid(page, 'input-submit').click();
        await tid(page, 'input-form').locator('[data-testid=field-error]').first().waitFor({ timeout: 10_000 });
        const problems = await tid(page, 'input-form').locator('[data-testid=field-error]').allTextContents();
        assert(problems.some((p) => p.includes('required')), `field errors: ${JSON.stringify(problems)}`);
        await tid(page, 'input-approved').check();
        await tid(page, 'input-comment').fill('looks fine');
        await shot(page, 'run-input-form.png');
        await tid(page, 'input-submit').click();
        const deadline = Date.now() + 20_000;
        let run;
        for (;;) {
          run = (await api('GET', `/api/v1/runs/${encodeURIComponent(runId)}`)).run;
          if (run.status === 'finished' || Date.now() > deadline) break;
          await new Promise((r) => setTimeout(r, 100));
        }
        assert(run.status === 'finished', `the run is ${run.status}`);
        assert(
          sameJson(run.output, { decision: 'approved', comment: 'looks fine', by: 'admin' }),
          `output ${JSON.stringify(run.output)}`,
        );
        await tid(page, 'input-form').waitFor({ state: 'detached', timeout: 20_000 });
        return { run_id: runId };
      },
      { page },
    );

    // ---------------------------------------------------------------- 10
    await check('10 screenshots of every main screen', async () => {
      const want = ['sign-in.png', 'automations.png', 'editor.png', 'run.png', 'runs.png', 'connections.png', 'admin.png'];
      const missing = want.filter((f) => !existsSync(join(ARTIFACTS, f)));
      assert(missing.length === 0, `missing screenshots: ${missing.join(', ')}`);
    });
  } finally {
    // ---------------------------------------------------------------- 9
    await check('9 no browser console errors (only the allow-listed expected 4xx lines)', async () => {
      report.console_errors = watch.errors;
      report.console_allowed = watch.allowed;
      assert(
        watch.errors.length === 0,
        `${watch.errors.length} console error(s):\n${watch.errors.map((e) => `  [${e.page}] ${e.kind}: ${e.text}${e.url ? ` (${e.url})` : ''}`).join('\n')}`,
      );
      return { allowed: watch.allowed.length };
    });
    await browser.close().catch(() => {});
    fake.server.close();
  }
}

try {
  await main();
} catch (e) {
  if (!failures.some((f) => e.message.includes(f.name))) failures.push({ name: current ?? 'setup', message: e.message });
}
clearTimeout(globalTimer);
writeReport({ ok: failures.length === 0, failures });
console.log(`bundle: ${report.bundle?.js_gzip_bytes ?? '?'} bytes of JS gzipped (level 9); 200 blocks: canvas ready at ${report.load_200_blocks_ms ?? '?'} ms`);
console.log(`total ${((Date.now() - started) / 1000).toFixed(1)} s; report: ${join(ARTIFACTS, 'report.json')}`);
if (failures.length > 0) {
  console.error(`FAILED: ${failures.length} check(s):\n${failures.map((f) => `  - ${f.name}: ${f.message}`).join('\n')}`);
  process.exit(1);
}
console.log('all checks passed');
process.exit(0);
