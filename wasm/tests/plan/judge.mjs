// The browser's tracking-plan checker (wasm/js/plan.js) run on a file of
// plans and calls, for the differential test against the Rust checker
// (tests/tests/plan_js.rs), which writes the file and compares.
//
// Usage: node wasm/tests/plan/judge.mjs FILE, where FILE holds
// `{"plans": [<plan>...], "calls": [[plan index, kind, name, payload, traits]...]}`
// (payload and traits as JSON text, '' for none). Prints
// `{"plans": [null or the error text...], "verdicts": [null or the verdict text...]}`.

import { readFileSync } from 'node:fs';

import { compilePlan } from '../../js/plan.js';

const input = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const compiled = input.plans.map((plan) => {
  try {
    return compilePlan(plan);
  } catch (e) {
    return e.message;
  }
});
const verdicts = input.calls.map(([i, kind, name, payload, traits]) => {
  const plan = compiled[i];
  return typeof plan === 'string' ? null : (plan.judge(kind, name, payload, traits) ?? null);
});
process.stdout.write(JSON.stringify({ plans: compiled.map((p) => (typeof p === 'string' ? p : null)), verdicts }));
