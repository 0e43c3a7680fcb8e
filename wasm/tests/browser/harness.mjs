// What the browser tests run against, all real and all on 127.0.0.1: the
// project's collector (`cairn collect`, a child process), a static server
// for the package and the test pages (another port, so every batch is a
// cross-origin request as on a real site), and Debian's headless Chromium
// driven by playwright-core.

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { after, before } from 'node:test';

const root = resolve(new URL('../../..', import.meta.url).pathname);
const require = createRequire(join(root, 'wasm/.tools/package.json'));
const { chromium } = require('playwright-core');

/** The `cairn` binary (built by test-web.sh). */
const CAIRN_BIN = process.env.CAIRN_BIN || join(resolve(root, process.env.CARGO_TARGET_DIR || 'target'), 'debug', 'cairn');
const PKG = resolve(process.env.CAIRN_PKG || join(root, 'wasm/pkg'));
const PAGES = join(root, 'wasm/tests/pages');
/** tsc's output for the typed calls generated from the sample plan (test-web.sh). */
const PLAN_JS = resolve(process.env.CAIRN_PLAN_JS || join(root, process.env.CARGO_TARGET_DIR || 'target', 'web-plan'));

/** Polls `check` until it returns a truthy value or `ms` pass; returns the last value. */
export async function until(check, ms = 10_000, what = 'condition') {
  const deadline = Date.now() + ms;
  let last;
  while (Date.now() < deadline) {
    last = await check();
    if (last) return last;
    await sleep(50);
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what} (last: ${JSON.stringify(last)})`);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts `cairn collect --port PORT --out FILE` (any free port by default;
 * a given one brings a stopped collector back where it was); resolves once
 * it listens.
 */
export async function startCollector(port = 0) {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-web-collector-'));
  const out = join(dir, 'events.ndjson');
  const child = spawn(CAIRN_BIN, ['collect', '--port', String(port), '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  const endpoint = await new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`collector did not start: ${text}`)), 10_000);
    child.on('error', (e) => fail(new Error(`cannot run ${CAIRN_BIN}: ${e.message}`)));
    child.stderr.on('data', (d) => (text += d));
    child.stdout.on('data', (d) => {
      text += d;
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(text);
      if (m) {
        clearTimeout(timer);
        ok(m[1]);
      }
    });
  });
  return {
    endpoint,
    /** Every event stored, in arrival order. */
    events() {
      if (!existsSync(out)) return [];
      return readFileSync(out, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l));
    },
    /** `GET /stats`: requests (every /v1/batch, whatever its answer), events, invalid. */
    async stats() {
      const r = await fetch(`${endpoint}/stats`);
      return r.json();
    },
    stop() {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json', '.ts': 'text/plain' };

/** Serves /pkg/* from the built package, /pages/* from the test pages and /plan/* from the compiled typed calls. */
export async function startStatic() {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    const roots = [['/pkg/', PKG], ['/pages/', PAGES], ['/plan/', PLAN_JS]];
    const [prefix, base] = roots.find(([p]) => path.startsWith(p)) || [null, null];
    const rest = prefix && path.slice(prefix.length);
    const file = base && normalize(join(base, rest));
    if (!file || !file.startsWith(base) || !existsSync(file)) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'Content-Type': TYPES[extname(file)] || 'application/octet-stream', 'Cache-Control': 'no-store' });
    res.end(readFileSync(file));
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const origin = `http://127.0.0.1:${server.address().port}`;
  return { origin, stop: () => new Promise((ok) => server.close(ok)) };
}

/**
 * Serves the package and the test pages for the test file that calls it
 * (its `before`/`after` hooks): the returned object has `origin` once the
 * file's tests run.
 */
export function servePages() {
  const site = {};
  before(async () => {
    Object.assign(site, await startStatic());
  });
  after(() => site.stop());
  return site;
}

/** The message ids of collected events, in order. */
export const ids = (events) => events.map((e) => e.messageId);
/** The names of collected events (the event, page or screen name, else the type), in order. */
export const names = (events) => events.map((e) => e.event ?? e.name ?? e.type);

/** A fresh Chromium profile (its own localStorage), headless. */
export async function startBrowser() {
  const profile = mkdtempSync(join(tmpdir(), 'cairn-web-profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    timeout: 30_000,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  context.setDefaultTimeout(15_000);
  return {
    context,
    async stop() {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Opens the test page with `opts` for Cairn.load and waits until cairn is loaded. */
export async function openApp(context, origin, opts, { fill = false, page = null } = {}) {
  const p = page || (await context.newPage());
  const consoleErrors = [];
  p.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  p.on('pageerror', (e) => consoleErrors.push(String(e)));
  const q = new URLSearchParams({ opts: JSON.stringify(opts) });
  if (fill) q.set('fill', '1');
  await p.goto(`${origin}/pages/app.html?${q}`);
  await p.evaluate(() => window.cairnReady);
  p.consoleErrors = consoleErrors;
  return p;
}

/** `stats()` of the cairn on page `p`. */
export const statsOf = (p) => p.evaluate(() => window.cairn.stats());

/** Runs `body` with a fresh collector and browser, and stops both after. */
export async function withRig(body) {
  const collector = await startCollector();
  const browser = await startBrowser();
  try {
    await body({ collector, context: browser.context, opts: (extra = {}) => ({ writeKey: 'wk', endpoint: collector.endpoint, ...extra }) });
  } finally {
    await browser.stop();
    collector.stop();
  }
}
