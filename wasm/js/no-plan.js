// What a package built without tracking plans has in place of plan.js
// (scripts/build-web.sh ships one or the other as plan.js): a plan given
// to it is refused, saying how to build a package that has them.

/** Refuses every plan: this package was built without tracking plans. */
export function compilePlan() {
  throw new Error('this cairn package was built without tracking plans: build it with CAIRN_WEB_FEATURES=tracking-plan ./scripts/build-web.sh');
}

/** No plans, no counts. */
export function planCounts() {}
