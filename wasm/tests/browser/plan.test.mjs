// The TypeScript typed calls generated from the sample plan
// (examples/plans/generated/tracking-plan.ts, compiled by tsc in
// scripts/test-web.sh) run in headless Chromium over the real package and
// deliver the planned events to the real collector.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { openApp, startBrowser, startCollector, startStatic, until } from './harness.mjs';

const MODULE = '/plan/examples/plans/generated/tracking-plan.js';
let site;
before(async () => {
  site = await startStatic();
});
after(async () => {
  await site.stop();
});

test('every generated call delivers the planned event, with the plan keys', { timeout: 60_000 }, async () => {
  const collector = await startCollector();
  const browser = await startBrowser();
  try {
    const page = await openApp(browser.context, site.origin, { writeKey: 'wk', endpoint: collector.endpoint, flushAt: 100 });
    const ids = await page.evaluate(async (url) => {
      const tp = await import(url);
      const plan = new tp.TrackingPlan(window.cairn);
      const product = { productId: 'p-1', price: 12.5, name: 'Dune', quantity: 2, category: tp.ProductCategory.VideoGames };
      plan.identify('user-7', 'ada@example.com', { plan: tp.IdentifyPlan.Pro, age: 36 });
      plan.group('org-1', 'Analytical Engines');
      plan.cartViewed();
      plan.productViewed(product, { source: 'recommendation' });
      plan.orderCompleted(tp.OrderCompletedCurrency.Eur, 'o-42', [product, { productId: 'p-2', price: 3 }], 28, {
        coupon: 'SAVE10',
        paymentMethod: tp.OrderCompletedPaymentMethod.CreditCard,
        shipping: { method: tp.OrderCompletedShippingMethod.Express, address: { city: 'Lyon', country: 'FR' } },
        tags: ['first', 'gift wrap'],
        gift: false,
      });
      plan.searchPerformed('dune', null, 3, { filters: { format: 'paperback' }, tookMs: 1.5 });
      await window.cairn.flush(10_000);
      return [tp.PLAN_ID, tp.PLAN_VERSION];
    }, MODULE);
    assert.deepEqual(ids, ['shop', '3']);
    const events = await until(() => collector.events().length >= 6 && collector.events(), 10_000, '6 events');
    assert.deepEqual(
      events.map((e) => e.event ?? e.type),
      ['identify', 'group', 'Cart Viewed', 'Product Viewed', 'Order Completed', 'Search Performed'],
    );
    const productJson = { product_id: 'p-1', price: 12.5, name: 'Dune', quantity: 2, category: 'video games' };
    assert.equal(events[0].userId, 'user-7');
    assert.deepEqual(events[0].traits, { email: 'ada@example.com', plan: 'pro', age: 36 });
    assert.equal(events[1].groupId, 'org-1');
    assert.deepEqual(events[1].traits, { name: 'Analytical Engines' });
    assert.deepEqual(events[3].properties, { product: productJson, source: 'recommendation' });
    assert.deepEqual(events[4].properties, {
      order_id: 'o-42',
      total: 28,
      currency: 'EUR',
      products: [productJson, { product_id: 'p-2', price: 3 }],
      coupon: 'SAVE10',
      payment_method: 'credit card',
      shipping: { method: 'express', address: { city: 'Lyon', country: 'FR' } },
      tags: ['first', 'gift wrap'],
      gift: false,
      checkout_version: '2024-checkout',
    });
    // A required nullable property is sent as null, not left out.
    assert.deepEqual(events[5].properties, { query: 'dune', results: 3, referrer: null, filters: { format: 'paperback' }, took_ms: 1.5 });
    assert.deepEqual(page.consoleErrors, []);
  } finally {
    await browser.stop();
    collector.stop();
  }
});
