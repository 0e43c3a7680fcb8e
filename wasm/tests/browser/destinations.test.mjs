// Several destinations from the one queue, in real headless Chromium against
// two real collectors on 127.0.0.1. Only a package built with the
// `destinations` feature has them (scripts/test-web.sh builds one and sets
// CAIRN_WEB_DESTINATIONS=1 for it, and fails if these tests ran nothing);
// the default package's own test checks that it refuses the option.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ids, names, openApp, servePages, sleep, startCollector, statsOf, until, withRig } from './harness.mjs';

const SEVERAL = process.env.CAIRN_WEB_DESTINATIONS ? true : false;
const TEST = { timeout: 60_000, skip: SEVERAL ? false : 'the default package is built without several destinations' };
const site = servePages();


// Runs `body` with a second collector, "warehouse", beside the rig's.
const withTwo = (body) =>
  withRig(async (rig) => {
    const warehouse = await startCollector();
    try {
      await body({ ...rig, warehouse, second: { name: 'warehouse', endpoint: warehouse.endpoint, writeKey: 'wk2' } });
    } finally {
      warehouse.stop();
    }
  });

test('several destinations: one down receives every event once after it recovers, across a reload; the other at once, never twice', TEST, () =>
  withRig(async ({ collector, context, opts }) => {
    // The warehouse is down for real (nothing listens on its port), then
    // back on the same port: a request in flight as the page reloads fails
    // as it would on a network, rather than wait in a test proxy.
    const first = await startCollector();
    const endpoint = first.endpoint;
    first.stop();
    let warehouse;
    try {
      const o = opts({ flushAt: 1, retryBaseDelay: 200, maxRetryDelay: 1_000, destinations: [{ name: 'warehouse', endpoint, writeKey: 'wk2' }] });
      const page = await openApp(context, site.origin, o);
      await page.evaluate(() => {
        for (let i = 0; i < 10; i++) window.cairn.track(`A${i}`);
      });
      await until(() => collector.events().length >= 10, 10_000, 'the healthy destination receives them at once');
      await until(async () => (await statsOf(page)).destinations?.[1]?.retries >= 1, 10_000, 'a failed attempt to the warehouse');
      // The collector stores a batch before it answers: the page counts it
      // delivered a moment later.
      const before = await until(async () => {
        const s = await statsOf(page);
        return s.destinations[0].queuedEvents === 0 && s;
      }, 10_000, 'the healthy destination done');
      assert.equal(before.destinations[1].queuedEvents, 10);
      assert.equal(before.queuedEvents, 10, 'kept once, for the destination that still needs them');

      // A reload: the new page takes over the old page's queue and each
      // destination's progress.
      await page.reload();
      await page.evaluate(() => window.cairnReady);
      await page.evaluate(() => {
        for (let i = 0; i < 5; i++) window.cairn.track(`B${i}`);
      });
      await until(() => collector.events().length >= 15, 10_000, 'the B events at the healthy destination');

      warehouse = await startCollector(new URL(endpoint).port);
      await until(() => warehouse.events().length >= 15, 20_000, 'the warehouse catching up');
      await sleep(1_000);
      const expected = [...Array.from({ length: 10 }, (_, i) => `A${i}`), ...Array.from({ length: 5 }, (_, i) => `B${i}`)];
      assert.deepEqual(names(collector.events()), expected, 'each once, in order, at the healthy destination');
      assert.deepEqual(names(warehouse.events()), expected, 'each once, in order, at the one that was down');
      assert.deepEqual(ids(warehouse.events()), ids(collector.events()), 'the same message ids at both');
      const s = await statsOf(page);
      assert.equal(s.queuedEvents, 0);
      assert.equal(s.destinations[1].name, 'warehouse');
      assert.equal(s.destinations[1].deliveredEvents, 15);
    } finally {
      warehouse?.stop();
    }
  }));

test('several destinations: a destination with consent categories receives only what was recorded while they were granted', TEST, () =>
  withTwo(async ({ collector, warehouse, second, context, opts }) => {
    const o = opts({
      flushAt: 1,
      consent: { marketing: 'denied' },
      destinations: [{ ...second, consentCategories: ['marketing'], denyEvents: ['Debug *'] }],
    });
    const page = await openApp(context, site.origin, o);
    await page.evaluate(() => {
      window.cairn.track('Before');
      window.cairn.setConsent('marketing', 'granted');
      window.cairn.track('After');
      window.cairn.track('Debug ping');
    });
    await until(() => collector.events().length >= 3, 10_000, 'every event at the main destination');
    await until(() => warehouse.events().length >= 1, 10_000, 'the granted event at the warehouse');
    await until(async () => (await statsOf(page)).queuedEvents === 0, 10_000, 'an empty queue');
    assert.deepEqual(names(collector.events()), ['Before', 'After', 'Debug ping']);
    assert.deepEqual(names(warehouse.events()), ['After']);
    const s = await statsOf(page);
    assert.equal(s.destinations[1].skippedEvents, 2, 'passed over by its routing, counted');
  }));

test('a default package refuses `destinations`, pointing to the build features', { timeout: 60_000, skip: SEVERAL ? 'this package has several destinations' : false }, () =>
  withRig(async ({ context, opts }) => {
    const page = await context.newPage();
    const o = opts({ destinations: [{ name: 'warehouse', endpoint: 'http://127.0.0.1:9', writeKey: 'k' }] });
    await page.goto(`${site.origin}/pages/app.html?opts=${encodeURIComponent(JSON.stringify(o))}`);
    const loadError = await until(() => page.evaluate(() => window.loadError), 5_000, 'load error');
    assert.match(loadError, /unknown option `destinations`.*more with build features \(docs\/web\.md\)/);
  }));
