// What the generated TypeScript calls accept and what they refuse, checked
// by tsc (scripts/test-web.sh): each `@ts-expect-error` line must be a type
// error, or tsc fails with "Unused '@ts-expect-error' directive". Compiled,
// never run.

import type { Cairn } from 'cairn-web';
import {
  OrderCompletedCurrency,
  OrderCompletedShippingMethod,
  ProductCategory,
  TrackingPlan,
  type Product,
} from '../../../examples/plans/generated/tracking-plan';

export function uses(cairn: Cairn): void {
  const plan = new TrackingPlan(cairn);
  const product: Product = { productId: 'p-1', price: 12.5, category: ProductCategory.VideoGames };
  plan.productViewed(product);
  plan.productViewed(product, { source: 'home' });
  plan.orderCompleted(OrderCompletedCurrency.Eur, 'o-1', [product], 12.5);
  plan.orderCompleted('USD', 'o-2', [product], 12.5, { shipping: { method: OrderCompletedShippingMethod.Express }, tags: ['a'] });
  plan.searchPerformed('dune', null, 3, { filters: { format: 'paperback' } });
  plan.identify('user-7', 'ada@example.com', { plan: 'pro' });
  plan.group('org-1', 'Analytical Engines');
  plan.cartViewed();
}

export function misuses(plan: TrackingPlan, product: Product): void {
  // @ts-expect-error: a value outside the enum
  plan.orderCompleted('BTC', 'o-1', [product], 1);
  // @ts-expect-error: a required property left out
  plan.orderCompleted('EUR', 'o-1', [product]);
  // @ts-expect-error: a number where the plan says string
  plan.searchPerformed(42, null, 3);
  // @ts-expect-error: a required nullable property cannot be left out
  plan.searchPerformed('dune', undefined, 3);
  // @ts-expect-error: a property the plan does not have
  plan.productViewed(product, { colour: 'red' });
  // @ts-expect-error: a nested required field left out
  plan.productViewed({ productId: 'p-1' });
  // @ts-expect-error: an enum of another property
  plan.productViewed(product, { source: OrderCompletedShippingMethod.Express });
  // @ts-expect-error: identify needs the email the plan requires
  plan.identify('user-7');
}
