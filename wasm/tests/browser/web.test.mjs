// The browser build in real headless Chromium, against the real collector
// on 127.0.0.1 (pages are served from another port: cross-origin, as on a
// real site). Each test gets a fresh collector and a fresh browser profile.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { test } from 'node:test';

import { ids, names, openApp, servePages, sleep, startCollector, statsOf, until, withRig } from './harness.mjs';

const TEST = { timeout: 60_000 };
const site = servePages();


const unique = (xs) => new Set(xs).size === xs.length;

test('events recorded on a page arrive at the collector, in order, exactly once', TEST, () =>
  withRig(async ({ collector, context, opts }) => {
    const page = await openApp(context, site.origin, opts({ flushAt: 5 }));
    await page.evaluate(() => {
      window.cairn.page('Home');
      for (let i = 0; i < 30; i++) window.cairn.track(`E${i}`, { i, plan: 'pro' });
      window.cairn.identify('user-1', { email: 'a@example.com' });
    });
    const report = await page.evaluate(() => window.cairn.flush(10_000));
    assert.equal(report.remaining, 0);
    const events = await until(() => collector.events().length >= 32 && collector.events(), 10_000, '32 events');
    await sleep(500);
    assert.equal(collector.events().length, 32, 'nothing arrives twice');
    assert.deepEqual(names(events), ['Home', ...Array.from({ length: 30 }, (_, i) => `E${i}`), 'identify']);
    assert.ok(unique(ids(events)));
    const home = events[0];
    assert.equal(home.type, 'page');
    for (const k of ['url', 'path', 'referrer', 'title', 'search']) assert.ok(k in home.properties, `page() fills ${k}`);
    assert.equal(home.properties.path, '/pages/app.html');
    assert.equal(home.properties.title, 'cairn test page');
    assert.equal(home.context.page.path, '/pages/app.html');
    assert.equal(events[31].userId, 'user-1');
    assert.equal(new Set(events.map((e) => e.anonymousId)).size, 1);
    const server = await collector.stats();
    assert.equal(server.invalid, 0, "every event meets Segment's spec");
    const stats = await statsOf(page);
    assert.equal(stats.deliveredEvents, 32);
    assert.equal(stats.queuedEvents, 0);
    assert.deepEqual(page.consoleErrors, []);
    const left = await page.evaluate(() => Object.keys(localStorage).filter((k) => k.includes(':e:')));
    assert.deepEqual(left, [], 'delivered events leave localStorage');
  }));

test('back from the back/forward cache, events keep the context the page set', TEST, () =>
  withRig(async ({ collector, context, opts }) => {
    const page = await openApp(context, site.origin, opts({ flushAt: 1 }));
    await page.evaluate(async () => {
      const c = window.cairn;
      c.setContext({ app: { build: 7 }, campaign: { name: 'spring' } });
      c.setContext({ campaign: null });
      c.page('Home');
      c.track('Before');
      await c.flush(5000);
      // What the browser does when the page goes into the cache and comes back.
      window.dispatchEvent(new PageTransitionEvent('pagehide', { persisted: true }));
      window.dispatchEvent(new PageTransitionEvent('pageshow', { persisted: true }));
      await new Promise((r) => setTimeout(r, 200));
      c.track('After');
      await c.flush(5000);
    });
    const after = await until(() => collector.events().find((e) => e.event === 'After'), 10_000, 'the event after the return');
    const before = collector.events().find((e) => e.event === 'Before');
    assert.deepEqual(before.context.app, { build: 7 });
    assert.deepEqual(after.context.app, { build: 7 }, 'setContext outlives the return');
    assert.equal(after.context.campaign, undefined, 'a removed key stays removed');
    assert.equal(after.context.page?.path, '/pages/app.html', "page()'s context too");
    assert.equal(after.anonymousId, before.anonymousId);
  }));

// Offline is the collector stopped (every request refused), not a route
// that aborts requests: Playwright held a retry issued as the page
// reloaded in its route and let it through at `unroute`, after the new
// page had sent the same events (about one run in ten), which no network
// does.
test('offline, reload, back online: every event recorded offline arrives once', TEST, () =>
  withRig(async ({ collector: down, context, opts }) => {
    const port = new URL(down.endpoint).port;
    down.stop();
    const o = opts({ flushAt: 1, retryBaseDelay: 200, maxRetryDelay: 1_000 });
    const page = await openApp(context, site.origin, o);
    await page.evaluate(() => {
      for (let i = 0; i < 10; i++) window.cairn.track(`Offline A${i}`);
    });
    await until(async () => (await statsOf(page)).retries >= 1, 10_000, 'a failed attempt');
    const queued = await page.evaluate(() => Object.keys(localStorage).filter((k) => k.includes(':e:')).length);
    assert.equal(queued, 10, 'the events wait in localStorage');
    await page.reload();
    await page.evaluate(() => window.cairnReady);
    const afterReload = await statsOf(page);
    assert.equal(afterReload.browser.adoptedEvents, 10, "the reloaded page takes over the old page's queue");
    await page.evaluate(() => {
      for (let i = 0; i < 5; i++) window.cairn.track(`Offline B${i}`);
    });
    await until(async () => (await statsOf(page)).retries >= 1, 10_000, 'a failed attempt after reload');
    const collector = await startCollector(port);
    try {
      const events = await until(() => collector.events().length >= 15 && collector.events(), 15_000, '15 events');
      await sleep(1_000);
      // A retry on the wire as the page reloaded was once delivered by the old
      // page and again by the new one (runtime.rs, hand_off): names and ids
      // show which.
      const all = collector.events();
      assert.equal(all.length, 15, `each event once: ${all.map((e) => `${e.event} ${e.messageId}`)}`);
      assert.ok(unique(ids(events)));
      assert.deepEqual(names(events), [...Array.from({ length: 10 }, (_, i) => `Offline A${i}`), ...Array.from({ length: 5 }, (_, i) => `Offline B${i}`)]);
    } finally {
      collector.stop();
    }
  }));

test('the clock set back an hour holds no retry back', TEST, () =>
  withRig(async ({ collector, context, opts }) => {
    const batchUrl = `${collector.endpoint}/v1/batch`;
    await context.route(batchUrl, (route) => route.abort('internetdisconnected'));
    const page = await openApp(context, site.origin, opts({ flushAt: 1, retryBaseDelay: 200, maxRetryDelay: 1_000 }));
    await page.evaluate(() => window.cairn.track('Before'));
    await until(async () => (await statsOf(page)).retries >= 1, 10_000, 'a failed attempt');
    // The user (or the network's time service) sets the clock back.
    await page.evaluate(() => {
      const now = Date.now;
      Date.now = () => now.call(Date) - 3_600_000;
    });
    await context.unroute(batchUrl);
    await page.evaluate(() => window.cairn.track('After'));
    const events = await until(() => collector.events().length >= 2 && collector.events(), 10_000, 'both events, within the retry cap');
    assert.deepEqual(names(events), ['Before', 'After']);
    const back = Date.parse(events[0].timestamp) - Date.parse(events[1].timestamp);
    assert.ok(back > 3_590_000 && back <= 3_600_000, `'After' carries the wall-clock time of its call, an hour earlier: ${back} ms`);
  }));

test('a redirect answering the batch is not taken for delivery', TEST, () =>
  withRig(async ({ collector, context, opts }) => {
    // An endpoint that moved, with CORS headers on its answers: fetch would
    // follow the 301 as a GET, and the 200 that GET gets would count the
    // batch as delivered while no backend received it.
    const moved = createServer((req, res) => {
      const cors = { 'Access-Control-Allow-Origin': '*' };
      if (req.url === '/v1/batch') res.writeHead(301, { ...cors, Location: '/moved' });
      else res.writeHead(200, cors);
      req.resume();
      res.end('ok');
    });
    await new Promise((ok) => moved.listen(0, '127.0.0.1', ok));
    try {
      const endpoint = `http://127.0.0.1:${moved.address().port}`;
      const page = await openApp(context, site.origin, { ...opts({ flushAt: 1, retryBaseDelay: 200 }), endpoint });
      await page.evaluate(() => window.cairn.track('Redirected'));
      const s = await until(async () => {
        const t = await statsOf(page);
        return (t.retries >= 1 || t.deliveredEvents > 0) && t;
      }, 10_000, 'an attempt');
      assert.equal(s.deliveredEvents, 0, 'a redirect is not a delivery');
      assert.equal(s.queuedEvents, 1, 'the event waits for the next attempt');
    } finally {
      moved.close();
    }
  }));

test('closing the page right after track still delivers the event (pagehide)', TEST, () =>
  withRig(async ({ collector, context, opts }) => {
    // Defaults: flushAt 20, flushInterval 10 s, so nothing would be sent
    // before the page is gone but for the hand-off.
    const page = await openApp(context, site.origin, opts());
    await page.evaluate(() => window.cairn.track('Last Click', { button: 'buy' }));
    await page.close({ runBeforeUnload: true });
    const events = await until(() => collector.events().length >= 1 && collector.events(), 10_000, 'the event sent at page hide');
    assert.deepEqual(names(events), ['Last Click']);
    // A new page of the site finds nothing left to send again.
    const next = await openApp(context, site.origin, opts());
    const report = await next.evaluate(() => window.cairn.flush(3_000));
    assert.equal(report.remaining, 0);
    assert.equal((await statsOf(next)).browser.adoptedEvents, 0);
    await sleep(500);
    assert.equal(collector.events().length, 1, 'not sent twice');
  }));

test('two tabs recording at once: no event is delivered twice', TEST, () =>
  withRig(async ({ collector, context, opts }) => {
    const o = opts({ flushAt: 3, retryBaseDelay: 200, maxRetryDelay: 1_000 });
    // The visitor's first tab, then a second one while the first records.
    const a = await openApp(context, site.origin, o);
    const b = await openApp(context, site.origin, o);
    const record = (p, tag) =>
      p.evaluate(async (tag) => {
        for (let i = 0; i < 40; i++) {
          window.cairn.track(`${tag}${i}`);
          if (i % 7 === 0) await new Promise((r) => setTimeout(r, 5));
        }
      }, tag);
    await Promise.all([record(a, 'A'), record(b, 'B')]);
    // A third tab dies with events it could not send (its requests fail).
    const c = await context.newPage();
    await c.route(`${collector.endpoint}/v1/batch`, (route) => route.abort('internetdisconnected'));
    await openApp(context, site.origin, o, { page: c });
    await c.evaluate(() => {
      for (let i = 0; i < 10; i++) window.cairn.track(`C${i}`);
    });
    await until(async () => (await statsOf(c)).retries >= 1, 10_000, 'tab C failing');
    await c.close({ runBeforeUnload: true });
    // Two new tabs open at the same moment; only one may take C's queue.
    const [d, e] = await Promise.all([openApp(context, site.origin, o), openApp(context, site.origin, o)]);
    for (const p of [a, b, d, e]) await p.evaluate(() => window.cairn.flush(10_000));
    const events = await until(() => collector.events().length >= 90 && collector.events(), 15_000, '90 events');
    await sleep(1_000);
    const all = collector.events();
    assert.equal(all.length, 90, `every event once (got ${all.length})`);
    assert.ok(unique(ids(all)));
    for (const tag of ['A', 'B', 'C']) {
      const mine = names(events).filter((n) => n.startsWith(tag));
      assert.deepEqual(mine, Array.from({ length: tag === 'C' ? 10 : 40 }, (_, i) => `${tag}${i}`), `tab ${tag}'s events in order`);
    }
    const adopted = [(await statsOf(d)).browser.adoptedEvents, (await statsOf(e)).browser.adoptedEvents];
    assert.deepEqual(adopted.sort(), [0, 10], 'exactly one tab took over the dead tab');
    assert.equal(new Set(all.map((x) => x.anonymousId)).size, 1, 'one visitor across tabs');
    // A live tab's queue is its own, even while its requests fail.
    const f = await context.newPage();
    await f.route(`${collector.endpoint}/v1/batch`, (route) => route.abort('internetdisconnected'));
    await openApp(context, site.origin, o, { page: f });
    await f.evaluate(() => {
      for (let i = 0; i < 5; i++) window.cairn.track(`F${i}`);
    });
    await until(async () => (await statsOf(f)).retries >= 1, 10_000, 'tab F failing');
    const g = await openApp(context, site.origin, o);
    await g.evaluate(() => window.cairn.flush(3_000));
    assert.equal((await statsOf(g)).browser.adoptedEvents, 0, 'a live tab is not robbed of its queue');
    await f.unroute(`${collector.endpoint}/v1/batch`);
    await f.evaluate(() => window.cairn.flush(10_000));
    await until(() => collector.events().length >= 95, 10_000, "F's events");
    await sleep(500);
    assert.equal(collector.events().length, 95);
    assert.ok(unique(ids(collector.events())));
  }));

test('consent denied or opt-out: the collector receives zero requests', TEST, () =>
  withRig(async ({ collector, context, opts }) => {
    const needs = opts({ flushAt: 1, consent: { analytics: 'unknown' }, requiredConsent: ['analytics'] });
    const page = await openApp(context, site.origin, needs);
    await page.evaluate(async () => {
      window.cairn.track('Before the banner');
      window.cairn.setConsent('analytics', 'denied');
      window.cairn.track('After denial');
      await window.cairn.flush(1_000);
    });
    let stats = await statsOf(page);
    assert.equal(stats.dropped.consent, 2);
    // Opt-out, persisted across a reload.
    const out = await openApp(context, site.origin, opts({ flushAt: 1, storageKey: 'other' }));
    await out.evaluate(() => {
      window.cairn.optOut(true);
      window.cairn.track('Opted out');
    });
    await out.reload();
    await out.evaluate(() => window.cairnReady);
    await out.evaluate(async () => {
      window.cairn.track('Still opted out');
      await window.cairn.flush(1_000);
    });
    stats = await statsOf(out);
    assert.equal(stats.dropped.consent, 2, 'the reloaded page is still opted out (and carries the first drop over)');
    await sleep(1_000);
    assert.equal((await collector.stats()).requests, 0, 'zero requests');
    const stored = await out.evaluate(() => Object.keys(localStorage).filter((k) => k.includes(':e:')).length);
    assert.equal(stored, 0, 'nothing stored either');
  }));

test('a quota-exhausted storage does not break the page', TEST, () =>
  withRig(async ({ collector, context, opts }) => {
    const page = await openApp(context, site.origin, opts({ flushAt: 5 }), { fill: true });
    assert.equal(await page.evaluate(() => window.fillError), 'QuotaExceededError', 'the test filled localStorage');
    const thrown = await page.evaluate(() => {
      try {
        for (let i = 0; i < 20; i++) window.cairn.track(`Full ${i}`, { pad: 'y'.repeat(200) });
        window.cairn.identify('u-full');
        return null;
      } catch (e) {
        return String(e);
      }
    });
    assert.equal(thrown, null, 'nothing is thrown at the page');
    await page.evaluate(() => window.cairn.flush(10_000));
    const events = await until(() => collector.events().length >= 21 && collector.events(), 10_000, '21 events');
    assert.ok(unique(ids(events)));
    const stats = await statsOf(page);
    assert.ok(stats.browser.quotaErrors > 0, 'quota errors are counted');
    assert.equal(stats.browser.storage, 'memory fallback');
    assert.match(stats.browser.storageError, /QuotaExceededError/);
    assert.deepEqual(await page.evaluate(() => window.pageErrors), []);
    assert.deepEqual(page.consoleErrors, []);
  }));

test('invalid input is a clear TypeError, counted, and the page goes on', TEST, () =>
  withRig(async ({ context, opts }) => {
    const page = await openApp(context, site.origin, opts());
    const errors = await page.evaluate(() => {
      const out = [];
      for (const f of [() => window.cairn.track(''), () => window.cairn.track('x', [1]), () => window.cairn.identify('u', { n: 1n }), () => window.cairn.setConsent('analytics', 'maybe')]) {
        try {
          f();
          out.push('no error');
        } catch (e) {
          out.push(e.message);
        }
      }
      return out;
    });
    assert.match(errors[0], /event name is empty/);
    assert.match(errors[1], /properties must be a JSON object/);
    assert.match(errors[2], /traits cannot be turned into JSON/);
    assert.match(errors[3], /not one of "granted", "denied", "unknown"/);
    assert.equal((await statsOf(page)).dropped.invalid, 3);
    const bad = await context.newPage();
    await bad.goto(`${site.origin}/pages/app.html?opts=${encodeURIComponent(JSON.stringify({ writeKey: 'wk', endpoint: 'ftp://x' }))}`);
    const loadError = await until(() => bad.evaluate(() => window.loadError), 5_000, 'load error');
    assert.match(loadError, /invalid option `endpoint`/);
  }));

test('an endpoint is read as the browser reads it: `\\` is a `/`, so a typo neither misroutes batches nor slips /v1/batch past the check', TEST, () =>
  withRig(async ({ collector, context, opts }) => {
    // A trailing backslash: the browser sends to `<endpoint>/v1/batch`, as
    // the native build does (read as typed, it went to `//v1/batch`: 404).
    const page = await openApp(context, site.origin, opts({ endpoint: `${collector.endpoint}\\` }));
    await page.evaluate(() => window.cairn.track('Typo'));
    const report = await page.evaluate(() => window.cairn.flush(10_000));
    assert.equal(report.remaining, 0);
    assert.deepEqual(names(collector.events()), ['Typo']);
    // The batch path written with backslashes is the batch path.
    const bad = await context.newPage();
    const q = encodeURIComponent(JSON.stringify(opts({ endpoint: `${collector.endpoint}\\v1\\batch` })));
    await bad.goto(`${site.origin}/pages/app.html?opts=${q}`);
    const loadError = await until(() => bad.evaluate(() => window.loadError), 5_000, 'load error');
    assert.match(loadError, /already ends in \/v1\/batch/);
  }));

test('forget() leaves no event or id of the user in localStorage', TEST, () =>
  withRig(async ({ collector, context, opts }) => {
    // Requests are held at the route (neither answered nor sent on) so the
    // upload is certainly on the wire when forget() runs; released only as
    // aborted, so none can slip through to the collector later.
    const batchUrl = `${collector.endpoint}/v1/batch`;
    const held = [];
    await context.route(batchUrl, (route) => held.push(route));
    const page = await openApp(context, site.origin, opts({ flushAt: 1 }));
    await page.evaluate(() => {
      window.cairn.identify('user-to-forget', { email: 'gone@example.com' });
      window.cairn.track('Private');
    });
    await until(() => held.length >= 1, 10_000, 'the first upload on the wire');
    const result = await page.evaluate(() => {
      const before = window.cairn.anonymousId;
      const erased = window.cairn.forget();
      const dump = JSON.stringify(Object.entries(localStorage));
      return { before, erased, dump, after: window.cairn.anonymousId };
    });
    assert.deepEqual(result.erased.userIds, ['user-to-forget']);
    assert.ok(result.erased.anonymousIds.includes(result.before));
    assert.ok(!result.dump.includes('user-to-forget') && !result.dump.includes('gone@example.com') && !result.dump.includes(result.before));
    assert.notEqual(result.after, result.before);
    await Promise.all(held.map((r) => r.abort('internetdisconnected').catch(() => {})));
    await context.unroute(batchUrl);
    const report = await page.evaluate(() => window.cairn.flush(2_000));
    assert.equal(report.remaining, 0, 'nothing of the forgotten user is left to send');
    await sleep(500);
    assert.equal(collector.events().length, 0, `nothing reached the collector: ${JSON.stringify(collector.events())}`);
  }));

// The shared table of tracking-plan cases (tests/plan-cases.json): the same
// plan gives the same verdicts in the page (patterns on the page's RegExp)
// as in Rust, Kotlin and Python.
const PLAN_CASES = JSON.parse(readFileSync(new URL('../../../tests/plan-cases.json', import.meta.url), 'utf8'));
// Only a package built with the `tracking-plan` feature has them
// (scripts/test-web.sh builds one and sets CAIRN_WEB_PLANS=1 for it).
const PLANS = { ...TEST, skip: process.env.CAIRN_WEB_PLANS ? false : 'the default package is built without tracking plans' };

test('tracking plans: the shared table of cases gives the same verdicts in the browser', PLANS, () =>
  withRig(async ({ collector, context, opts }) => {
    const page = await openApp(context, site.origin, opts());
    const results = await page.evaluate(async ({ table, base }) => {
      const { Cairn } = await import('/pkg/index.js');
      const record = (c, call) => {
        if (call.type === 'track') c.track(call.event, call.properties);
        else if (call.type === 'identify') c.identify(call.user_id, call.traits);
        else if (call.type === 'group') c.group(call.group_id, call.traits);
        else if (call.type === 'screen') c.screen(call.name, call.properties);
        else throw new Error(`no such call in the table: ${call.type}`);
      };
      const out = [];
      for (const [i, kase] of table.cases.entries()) {
        const trackingPlan = table.plans[kase.plan];
        const c = await Cairn.load({ ...base, flushAt: 1000, storageKey: `plan${i}`, trackingPlan });
        record(c, kase.call);
        await c.flush(5000);
        const s = c.stats();
        c.close();
        const strict = await Cairn.load({ ...base, storageKey: `strict${i}`, trackingPlan: JSON.stringify(trackingPlan), strictTrackingPlan: true });
        let error = null;
        try {
          record(strict, kase.call);
        } catch (e) {
          error = e.message;
        }
        strict.close();
        out.push({ dropped: s.dropped.planViolation, counted: s.plan.violations.reduce((n, v) => n + v.count, 0),
          recent: s.plan.recent.map((r) => (r.path ? `${r.path}: ${r.message}` : r.message)), error, anonymousId: c.anonymousId });
      }
      return out;
    }, { table: PLAN_CASES, base: opts() });
    for (const [i, kase] of PLAN_CASES.cases.entries()) {
      const r = results[i];
      assert.equal(r.dropped, kase.dropped ? 1 : 0, kase.name);
      assert.equal(r.counted, kase.violations.length, kase.name);
      assert.deepEqual(r.recent, kase.violations.slice(-10), kase.name);
      if (kase.violations.length === 0) assert.equal(r.error, null, kase.name);
      else for (const v of kase.violations) assert.ok(r.error?.includes(v), `${kase.name}: ${r.error} lacks ${v}`);
    }
    // What the flagged events carried on the wire.
    const flagged = collector.events().filter((e) => e.context.violations);
    const sent = PLAN_CASES.cases.filter((k) => !k.dropped && k.violations.length > 0);
    assert.deepEqual(
      flagged.map((e) => e.context.violations.map((v) => (v.path ? `${v.path}: ${v.message}` : v.message))),
      sent.map((k) => k.violations),
    );
    for (const e of collector.events()) assert.ok(e.context.trackingPlan?.id, 'every event carries the plan');
    // What `strip` left of the properties, as the case says.
    for (const [i, kase] of PLAN_CASES.cases.entries()) {
      if (!kase.sent || kase.dropped) continue;
      const mine = collector.events().filter((e) => e.anonymousId === results[i].anonymousId && e.type === kase.call.type);
      assert.equal(mine.length, 1, kase.name);
      assert.deepEqual(mine[0].properties ?? mine[0].traits ?? {}, kase.sent, kase.name);
    }
  }));

test('tracking plans: the page counts violations as the core does (stored, bounded, consent first, values forgotten)', PLANS, () =>
  withRig(async ({ collector, context, opts }) => {
    const plan = { id: 'p', version: 7, unplanned: 'flag', events: { E: { properties: { properties: { n: { type: 'number' } } } } } };
    const page = await openApp(context, site.origin, opts({ flushAt: 1000, trackingPlan: plan }));
    const seen = await page.evaluate(async ({ base, plan }) => {
      const { Cairn } = await import('/pkg/index.js');
      const c = window.cairn;
      const out = {};
      // 205 event names past the 200 counted one by one: the rest under "(other events)".
      for (let i = 0; i < 205; i++) c.track(`Made Up ${String(i).padStart(3, '0')}`);
      c.track('E', { n: 'one' });
      c.setContext({ trackingPlan: 'mine', violations: ['mine'] });
      c.track('E', { n: 'two' });
      out.first = c.stats().plan;
      // Another instance on the same storage (a reload) finds the counts.
      await c.flush(5000);
      c.close();
      const again = await Cairn.load({ ...base, flushAt: 1000, trackingPlan: plan, requiredConsent: ['analytics'] });
      again.setConsent('analytics', 'granted');
      out.reloaded = again.stats().plan;
      // Consent denied drops the call before its verdict counts.
      again.setConsent('analytics', 'denied');
      out.recentAfterDenial = again.stats().plan.recent.length;
      const consentBefore = again.stats().dropped.consent;
      again.track('E', { n: 'three' });
      out.countedAfterDenied = again.stats().plan.violations.reduce((n, v) => n + v.count, 0);
      out.consentDrops = again.stats().dropped.consent - consentBefore;
      again.setConsent('analytics', 'granted');
      again.setTrackingPlan(null);
      again.track('E', { n: 'no plan' });
      await again.flush(5000);
      again.forget();
      out.afterForget = again.stats().plan;
      // A payload nested deeper than the checker's stack, under a plan whose
      // definitions nest: the core's input limits refuse it, counted.
      again.setTrackingPlan({ id: 'tree', definitions: { node: { properties: { child: { $ref: '#/definitions/node' } } } }, events: { T: { properties: { properties: { root: { $ref: '#/definitions/node' } } } } } });
      let deep = {};
      for (let i = 0; i < 3000; i++) deep = { child: deep };
      const invalidBefore = again.stats().dropped.invalid;
      try {
        again.track('T', { root: deep });
      } catch (e) {
        out.deepError = `${e.constructor.name}: ${e.message}`;
      }
      out.deepCounted = again.stats().dropped.invalid - invalidBefore;
      return out;
    }, { base: opts(), plan });
    const count = (s, event) => s.violations.filter((v) => v.event === event).reduce((n, v) => n + v.count, 0);
    assert.equal(seen.first.violations.length, 202, 'at most 200 pairs, then one per rule for the rest');
    assert.deepEqual(seen.first.violations.filter((v) => v.event === '(other events)'), [
      { event: '(other events)', rule: 'type', count: 2 },
      { event: '(other events)', rule: 'unplanned', count: 5 },
    ]);
    assert.equal(count(seen.first, 'E'), 0, 'E came after the 200th pair: counted with the others');
    assert.deepEqual(seen.first.violations.map((v) => v.event + v.rule), seen.first.violations.map((v) => v.event + v.rule).sort());
    assert.equal(seen.first.recent.length, 10);
    assert.equal(seen.first.recent.at(-1).message, 'expected number, got string "two"');
    assert.deepEqual(seen.reloaded, seen.first, 'the counts are stored with the buffer');
    assert.equal(seen.recentAfterDenial, 0, 'a revocation erases the values the latest violations quote');
    assert.equal(seen.countedAfterDenied, 207, 'the call consent dropped counted no violation');
    assert.equal(seen.consentDrops, 1);
    assert.equal(seen.afterForget.recent.length, 0);
    assert.equal(seen.afterForget.violations.length, 202, 'the counts (names and rules only) stay');
    assert.match(seen.deepError ?? '', /nested/, 'the core refuses it, not a stack overflow in the checker');
    assert.equal(seen.deepCounted, 1);
    const sent = await until(() => collector.events().find((e) => e.properties?.n === 'two'), 10_000, 'the flagged event');
    assert.deepEqual(sent.context.trackingPlan, { id: 'p', version: 7 }, "the plan's stamp wins over the page's context");
    assert.deepEqual(sent.context.violations, [{ rule: 'type', path: 'properties.n', message: 'expected number, got string "two"' }]);
    const unplanned = await until(() => collector.events().find((e) => e.properties?.n === 'no plan'), 10_000, 'the event after the plan was removed');
    assert.equal(unplanned.context.trackingPlan, undefined, 'no stamp once the plan is removed');
  }));

test('tracking plans: a bad plan fails Cairn.load naming where; setTrackingPlan replaces it', PLANS, () =>
  withRig(async ({ context, opts }) => {
    const bad = await context.newPage();
    const plan = { id: 'p', events: { E: { properties: { properties: { x: { pattern: '(' } } } } } };
    await bad.goto(`${site.origin}/pages/app.html?opts=${encodeURIComponent(JSON.stringify(opts({ trackingPlan: plan })))}`);
    const loadError = await until(() => bad.evaluate(() => window.loadError), 5_000, 'load error');
    assert.match(loadError, /invalid option `trackingPlan`: at \/events\/E\/properties\/properties\/x\/pattern: the pattern does not compile/);
    const page = await openApp(context, site.origin, opts({ strictTrackingPlan: true }));
    const outcome = await page.evaluate(() => {
      const c = window.cairn;
      c.track('Anything');
      const errors = [];
      try {
        c.setTrackingPlan({ id: 'p', events: { E: { properties: { not: {} } } } });
      } catch (e) {
        errors.push(e.message);
      }
      c.setTrackingPlan({ id: 'p', unplanned: 'drop', events: { E: {} } });
      try {
        c.track('Anything');
      } catch (e) {
        errors.push(e.message);
      }
      c.track('E');
      c.setTrackingPlan(null);
      c.track('Anything');
      return errors;
    });
    assert.match(outcome[0], /at \/events\/E\/properties\/not: unsupported keyword `not`/);
    assert.match(outcome[1], /"Anything" breaks tracking plan p: event "Anything" is not in tracking plan p/);
  }));

test('a default package refuses a tracking plan, saying how to build one that has them', TEST, () =>
  withRig(async ({ context, opts }) => {
    if (process.env.CAIRN_WEB_PLANS) return;
    const bad = await context.newPage();
    await bad.goto(`${site.origin}/pages/app.html?opts=${encodeURIComponent(JSON.stringify(opts({ trackingPlan: { id: 'p' } })))}`);
    const loadError = await until(() => bad.evaluate(() => window.loadError), 5_000, 'load error');
    assert.match(loadError, /invalid option `trackingPlan`: this cairn package was built without tracking plans.*CAIRN_WEB_FEATURES=tracking-plan/);
  }));
