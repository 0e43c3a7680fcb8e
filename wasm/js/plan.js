// Tracking plans in the page: compiles a plan and judges each call.
//
// The core's checker (core/src/plan) is the reference; this file is a port
// of it for the browser, where the Rust checker costs about 20 KiB gzip of
// download and this one a sixth of that (docs/tracking-plans.md, "Cost").
// It gives the same verdicts and the same texts, message by message: the
// shared table of cases (tests/plan-cases.json) drives it in Chromium, and
// tests/tests/plan_js.rs holds it to the Rust checker on thousands of
// generated plans and payloads.
//
// It also does what a verdict does in the page (`planCounts`): the core
// records the call as the verdict says (Core.recordJudged: stripped, with
// context.violations, or counted `plan_violation`), and this file keeps the
// violation counts `stats().plan` shows (as core/src/plan/tally.rs does
// natively, in the same form and under the same storage key) and throws
// strict mode's error. Keeping them here keeps the core's plan code out of
// the .wasm (docs/tracking-plans.md, "Cost").
//
// It judges the payload as the core stores it (the call's JSON text), so a
// `Date` is the string it is sent as and `undefined` members are absent. The
// differences from the Rust checker are the page's numbers (a bound or a
// value with more digits than a double holds compares as its nearest
// double; `3.0` is a whole number) and the order of object keys outside the
// Basic Multilingual Plane in messages (UTF-16 order, not code points').

const KEYWORDS =
  'type, required, properties, additionalProperties, enum, const, minimum, maximum, exclusiveMinimum, exclusiveMaximum, minLength, maxLength, pattern, format, items, minItems, maxItems, $ref';
const ANNOTATIONS = ['title', 'description', '$schema', '$id', '$comment', 'examples', 'default', 'deprecated', 'readOnly', 'writeOnly'];
// Bit i of a schema's `types` is TYPES[i] (integer before number, as the messages list them).
const TYPES = ['null', 'boolean', 'integer', 'number', 'string', 'array', 'object'];
const PLAN_KEYS = ['id', 'version', 'events', 'identify', 'group', 'unplanned', 'policy', 'definitions', '$defs', 'description', 'name', '$schema'];
const EVENT_KEYS = ['version', 'description', 'properties', 'traits', 'policy'];
const DEFS = ['definitions', '$defs'];
const BOUNDS = [
  ['minimum', 'at least ', (n, b) => n < b],
  ['maximum', 'at most ', (n, b) => n > b],
  ['exclusiveMinimum', 'more than ', (n, b) => n <= b],
  ['exclusiveMaximum', 'less than ', (n, b) => n >= b],
];
const COUNTS = ['minLength', 'maxLength', 'minItems', 'maxItems'];

const utf8 = (s) => new TextEncoder().encode(s).length;
const leap = (y) => y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
// name: [what a violation says was expected, test]
const FORMATS = {
  'date-time': [
    'a date-time (RFC 3339, e.g. "2026-12-03T14:05:00Z")',
    (s) => {
      const m = /^(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(?:\.\d+)?(?:[Zz]|[+-](\d\d):(\d\d))$/.exec(s);
      if (!m) return false;
      const [, y, mo, d, h, mi, se, oh = 0, om = 0] = m.map((x) => x && +x);
      // 31 days in January, March, May, July, August, October, December.
      const days = mo == 2 ? (leap(y) ? 29 : 28) : 30 + ((mo + (mo >> 3)) & 1);
      return mo >= 1 && mo <= 12 && d >= 1 && d <= days && h < 24 && mi < 60 && se <= 60 && oh < 24 && om < 60;
    },
  ],
  email: [
    'an email address (e.g. "ada@example.com")',
    (s) => {
      const at = s.lastIndexOf('@');
      const local = s.slice(0, at);
      const domain = s.slice(at + 1);
      return (
        at > 0 &&
        utf8(local) <= 64 &&
        // No control character (Cc), white space (Unicode's) or second `@`.
        !/[\0- \x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000@]/.test(local) &&
        !/^\.|\.$/.test(local) &&
        domain != '' &&
        utf8(domain) <= 253 &&
        domain.split('.').every((label) => /^(?!-)(?:[A-Za-z0-9-]|[^\0-\x7f])+$/.test(label) && !label.endsWith('-'))
      );
    },
  ],
  uri: ['an absolute URI (e.g. "https://example.com/a")', (s) => /^[A-Za-z][A-Za-z0-9+.-]*:(?:[\w\-.~:/?#[\]@!$&'()*+,;=]|%[\dA-Fa-f]{2})*$/.test(s)],
  uuid: ['a UUID (e.g. "123e4567-e89b-12d3-a456-426614174000")', (s) => /^[\dA-F]{8}(?:-[\dA-F]{4}){3}-[\dA-F]{12}$/i.test(s)],
};

const isObject = (v) => v !== null && typeof v == 'object' && !Array.isArray(v);
const has = (o, k) => Object.hasOwn(o, k);
// The core's objects hold their members sorted by name.
const keys = (o) => Object.keys(o).sort();
const kind = (v) => (v === null ? 'null' : Array.isArray(v) ? 'an array' : (typeof v == 'object' ? 'an ' : 'a ') + typeof v);
// A value's JSON text as the core writes it: compact, object keys sorted.
const text = (v) =>
  isObject(v)
    ? `{${keys(v).map((k) => JSON.stringify(k) + ':' + text(v[k]))}}`
    : Array.isArray(v)
      ? `[${v.map(text)}]`
      : JSON.stringify(v);
// A JSON Pointer one segment deeper.
const pointer = (at, segment) => `${at}/${segment.replace(/~/g, '~0').replace(/\//g, '~1')}`;
// A violation's path one member deeper: `.name`, or `["odd key"]`.
const member = (path, key) => (/^[\w$-]+$/.test(key) ? (path && path + '.') + key : `${path}[${JSON.stringify(key)}]`);

function fail(at, message) {
  throw new Error(at ? `at ${at}: ${message}` : message);
}

function object(v, at, what) {
  if (!isObject(v)) fail(at, `${what} must be a JSON object, got ${kind(v)}`);
  return v;
}

function onlyKeys(o, at, allowed, what) {
  const k = keys(o).find((k) => !allowed.includes(k));
  if (k !== undefined) fail(pointer(at, k), `unsupported key \`${k}\` in ${what}: use ${allowed.join(', ')}`);
}

function policyAt(v, at) {
  if (v !== undefined && !['flag', 'strip', 'drop'].includes(v)) fail(at, `\`policy\` must be "flag", "strip" or "drop", got ${text(v)}`);
  return v;
}

function types(v, at) {
  const one = (name) => {
    const i = TYPES.indexOf(name);
    if (i < 0) fail(at, `unknown type "${name}": use null, boolean, integer, number, string, array or object`);
    return 1 << i;
  };
  if (typeof v == 'string') return one(v);
  if (!Array.isArray(v) || !v.length) fail(at, `\`type\` must be a type name or a non-empty list of them, got ${kind(v)}`);
  return v.reduce((bits, t) => bits | (typeof t == 'string' ? one(t) : fail(at, `\`type\` lists type names, got ${kind(t)}`)), 0);
}

// A compiled schema: { never, types, required, properties (a Map),
// additional (undefined: unsaid, true, false or a schema), values (enum),
// constant ([value]), the bounds and counts by keyword, pattern ([text,
// RegExp]), format, items, ref (a definition's index) }.
function compile(v, at, root, names) {
  if (v === true) return { properties: new Map() };
  if (v === false) return { never: true, properties: new Map() };
  if (!isObject(v)) fail(at, `a schema must be a JSON object (or true/false), got ${kind(v)}`);
  const s = { properties: new Map() };
  for (const k of keys(v)) {
    const x = v[k];
    const here = pointer(at, k);
    if (k == 'type') s.types = types(x, here);
    else if (k == 'required') {
      if (!Array.isArray(x)) fail(here, `\`required\` must be an array of property names, got ${kind(x)}`);
      for (const n of x) if (typeof n != 'string') fail(here, `\`required\` lists property names, got ${kind(n)}`);
      s.required = x;
    } else if (k == 'properties') {
      if (!isObject(x)) fail(here, `\`properties\` must be an object of schemas, got ${kind(x)}`);
      for (const n of keys(x)) s.properties.set(n, compile(x[n], pointer(here, n), false, names));
    } else if (k == 'additionalProperties') s.additional = typeof x == 'boolean' ? x : compile(x, here, false, names);
    else if (k == 'enum') {
      if (!Array.isArray(x) || !x.length) fail(here, '`enum` must be a non-empty array of the allowed values');
      s.values = x;
    } else if (k == 'const') s.constant = [x];
    else if (BOUNDS.some((b) => b[0] == k)) {
      if (typeof x != 'number') {
        fail(here, `expected a number, got ${kind(x)} (JSON Schema draft 4's boolean exclusiveMinimum/Maximum is not supported: give the bound itself)`);
      }
      s[k] = x;
    } else if (COUNTS.includes(k)) {
      if (!Number.isInteger(x) || x < 0) fail(here, `expected a whole number of at least 0, got ${text(x)}`);
      s[k] = x;
    } else if (k == 'pattern') {
      if (typeof x != 'string') fail(here, `\`pattern\` must be a string, got ${kind(x)}`);
      try {
        s.pattern = [x, new RegExp(x, 'u')];
      } catch {
        fail(here, 'the pattern does not compile as a JavaScript RegExp: write it in the syntax docs/tracking-plans.md lists');
      }
    } else if (k == 'format') {
      if (!has(FORMATS, x)) fail(here, `unsupported format ${text(x)}: cairn checks date-time, email, uri and uuid; remove it or use \`pattern\``);
      s.format = FORMATS[x];
    } else if (k == 'items') {
      if (Array.isArray(x)) fail(here, '`items` as a list (one schema per position) is not supported: give one schema that every item meets');
      s.items = compile(x, here, false, names);
    } else if (k == '$ref') {
      const m = /^#\/(?:definitions|\$defs)\/(.*)$/s.exec(typeof x == 'string' ? x : '');
      s.ref = m ? names.get(m[1]) : undefined;
      if (s.ref === undefined) {
        fail(here, `\`$ref\` ${text(x)} names no definition: refer to one of the plan's \`definitions\` as "#/definitions/<name>"`);
      }
    } else if (DEFS.includes(k)) {
      if (!root) fail(here, "`definitions` are read at the top of a plan or of an event's schema only: move them there");
    } else if (!ANNOTATIONS.includes(k)) {
      fail(here, `unsupported keyword \`${k}\`: cairn enforces ${KEYWORDS}; remove it (a keyword cairn skipped would let through events the plan means to stop)`);
    }
  }
  return s;
}

// JSON Schema's equality: numbers by value, objects whatever their order.
function same(a, b) {
  if (a === b) return true;
  if (!a || !b || typeof a != 'object' || typeof b != 'object' || Array.isArray(a) != Array.isArray(b)) return false;
  const ka = Object.keys(a);
  return ka.length == Object.keys(b).length && ka.every((k) => has(b, k) && same(a[k], b[k]));
}

// How a violation shows a value: `string "9.99"`, `number 42`, `array of 3`.
function describe(v) {
  if (typeof v == 'string') {
    // Long strings are cut (40 characters): the message goes into the event.
    const cut = Array.from(v).slice(0, 40).join('');
    return `string ${JSON.stringify(cut)}${cut.length < v.length ? '…' : ''}`;
  }
  if (Array.isArray(v)) return `array of ${v.length}`;
  return v === null ? 'null' : isObject(v) ? 'object' : `${typeof v} ${v}`;
}

// Checks `v` at `path` against `s`, adding [rule, path, message] to `out`.
function check(s, v, path, out, defs) {
  const add = (rule, message) => out.push([rule, path, message]);
  if (s.never) return add('false', `the plan allows no value here, got ${describe(v)}`);
  if (s.ref !== undefined) check(defs[s.ref], v, path, out, defs);
  const type = v === null ? 0 : typeof v == 'boolean' ? 1 : typeof v == 'number' ? 3 : typeof v == 'string' ? 4 : Array.isArray(v) ? 5 : 6;
  const integer = type == 3 && Number.isInteger(v) && s.types & 4;
  if (s.types && !(s.types & (1 << type)) && !integer) {
    const listed = TYPES.filter((_, i) => s.types & (1 << i)).join(' or ');
    return add('type', `expected ${listed}, got ${describe(v)}`);
  }
  if (s.values && !s.values.some((x) => same(x, v))) add('enum', `expected one of ${s.values.map(text).join(', ')}, got ${describe(v)}`);
  if (s.constant && !same(s.constant[0], v)) add('const', `expected ${text(s.constant[0])}, got ${describe(v)}`);
  if (type == 3) {
    for (const [k, words, breaks] of BOUNDS) if (s[k] !== undefined && breaks(v, s[k])) add(k, `expected ${words}${s[k]}, got ${describe(v)}`);
  }
  const count = (n, unit, min, max) => {
    if (s[min] > n) add(min, `expected at least ${s[min]} ${unit}, got ${n}`);
    if (s[max] < n) add(max, `expected at most ${s[max]} ${unit}, got ${n}`);
  };
  if (type == 4) {
    // Characters are code points, as JSON Schema counts them.
    count(Array.from(v).length, 'characters', 'minLength', 'maxLength');
    if (s.pattern && !s.pattern[1].test(v)) add('pattern', `expected to match ${s.pattern[0]}, got ${describe(v)}`);
    if (s.format && !s.format[1](v)) add('format', `expected ${s.format[0]}, got ${describe(v)}`);
  }
  if (type == 5) {
    count(v.length, 'items', 'minItems', 'maxItems');
    if (s.items) v.forEach((x, i) => check(s.items, x, `${path}[${i}]`, out, defs));
  }
  if (type == 6) {
    for (const n of s.required ?? []) if (!has(v, n)) out.push(['required', member(path, n), 'required by the plan, missing']);
    if (!s.properties.size && (s.additional === undefined || s.additional === true)) return;
    for (const k of keys(v)) {
      const own = s.properties.get(k) ?? s.additional;
      if (typeof own == 'object') check(own, v[k], member(path, k), out, defs);
      else if (own === false) out.push(['additionalProperties', member(path, k), 'not in the tracking plan']);
    }
  }
}

// The `strip` policy: removes from `o` the members the plan does not name,
// at every level, adding each removal to `out`.
function stripMembers(s, o, path, out, defs) {
  const removes = s.additional === false || (s.additional === undefined && s.properties.size > 0);
  const removed = [];
  for (const k of keys(o)) {
    const own = s.properties.get(k) ?? s.additional;
    if (typeof own == 'object') strip(own, o[k], member(path, k), out, defs);
    else if (removes) {
      delete o[k];
      removed.push(['additionalProperties', member(path, k), 'not in the tracking plan; removed']);
    }
  }
  out.push(...removed);
}

function strip(s, v, path, out, defs) {
  if (s.ref !== undefined) strip(defs[s.ref], v, path, out, defs);
  if (isObject(v)) stripMembers(s, v, path, out, defs);
  else if (Array.isArray(v) && s.items) v.forEach((x, i) => strip(s.items, x, `${path}[${i}]`, out, defs));
}

/**
 * Compiles `plan` (an object): throws an Error saying where it is wrong
 * ("at /events/E/properties/x: ..."). Returns the plan's `id`, its
 * `version` as JSON text, whether any event has rules on the user's traits
 * (`traits`), and `judge(kind, name, payload, traits)`: for one call (its
 * kind, event name, and properties or traits as JSON text; the user's
 * traits as JSON text when asked for, else ''), `undefined` when it meets
 * the plan, else the verdict as JSON text:
 * `[drop (0 or 1), the payload after strip or null, rule, path, message, ...]`.
 */
export function compilePlan(plan) {
  object(plan, '', 'a tracking plan');
  onlyKeys(plan, '', PLAN_KEYS, 'a tracking plan');
  const { id, version, unplanned = 'allow' } = plan;
  if (typeof id != 'string' || !id.trim()) fail('/id', 'a tracking plan needs an `id`, a non-empty string naming it, e.g. "shop-web"');
  if (version !== undefined && typeof version != 'string' && typeof version != 'number') {
    fail('/version', `\`version\` must be a string or a number, got ${kind(version)}`);
  }
  const policy = policyAt(plan.policy, '/policy') ?? 'flag';
  if (!['allow', 'flag', 'drop'].includes(unplanned)) fail('/unplanned', `\`unplanned\` must be "allow", "flag" or "drop", got ${text(unplanned)}`);
  // Definitions first: `$ref`s anywhere point into them. Those inside an
  // event's schema join the plan's.
  const found = [];
  const collect = (o, at) => {
    for (const key of DEFS) {
      if (isObject(o) && o[key] !== undefined) {
        const here = pointer(at, key);
        const d = object(o[key], here, '`definitions`');
        for (const n of keys(d)) found.push([n, pointer(here, n), d[n]]);
      }
    }
  };
  collect(plan, '');
  const events = plan.events === undefined ? {} : object(plan.events, '/events', '`events`');
  const roots = [];
  for (const n of keys(events)) {
    const at = pointer('/events', n);
    const e = object(events[n], at, 'an event');
    for (const f of ['properties', 'traits']) if (e[f] !== undefined) roots.push([e[f], pointer(at, f)]);
  }
  for (const f of ['identify', 'group']) if (isObject(plan[f]) && plan[f].traits !== undefined) roots.push([plan[f].traits, `/${f}/traits`]);
  for (const [s, at] of roots) collect(s, at);
  const names = new Map();
  found.forEach(([n, at], i) => {
    if (names.has(n)) fail(at, `a second definition named "${n}": definitions share one namespace across the plan; rename one`);
    names.set(n, i);
  });
  const defs = found.map(([, at, s]) => compile(s, at, false, names));
  // A `$ref` chain that comes back to itself without descending into a
  // value would never finish checking.
  found.forEach(([, at], start) => {
    for (let d = defs[start].ref, i = 0; d !== undefined && i <= defs.length; d = defs[d].ref, i++) {
      if (d == start) fail(at, 'this definition refers to itself through `$ref` without nesting (it could never be checked): break the cycle');
    }
  });
  const root = (v, at) => (v === undefined ? undefined : compile(v, at, true, names));
  const planned = new Map();
  for (const n of keys(events)) {
    const at = pointer('/events', n);
    const e = events[n];
    onlyKeys(e, at, EVENT_KEYS, 'an event');
    if (e.version !== undefined && typeof e.version != 'string' && typeof e.version != 'number') {
      fail(pointer(at, 'version'), `\`version\` must be a string or a number, got ${kind(e.version)}`);
    }
    const properties = root(e.properties, pointer(at, 'properties'));
    const traits = root(e.traits, pointer(at, 'traits'));
    planned.set(n, [properties, policyAt(e.policy, pointer(at, 'policy')) ?? policy, traits]);
  }
  const traitsOf = (f) => {
    const v = plan[f];
    if (v === undefined) return;
    object(v, `/${f}`, `\`${f}\``);
    onlyKeys(v, `/${f}`, ['traits', 'description'], `\`${f}\``);
    return root(v.traits, `/${f}/traits`);
  };
  const identify = traitsOf('identify');
  const group = traitsOf('group');

  const judge = (callKind, name, payload, userTraits) => {
    let rules;
    if (callKind == 'track') {
      rules = planned.get(name);
      if (!rules) {
        if (unplanned == 'allow') return;
        return text([unplanned == 'drop' ? 1 : 0, null, 'unplanned', '', `event "${name}" is not in tracking plan ${id}`]);
      }
    } else if (callKind == 'identify' || callKind == 'group') rules = [callKind == 'identify' ? identify : group, policy];
    else return;
    const [schema, rulesPolicy, traits] = rules;
    const field = callKind == 'track' ? 'properties' : 'traits';
    const out = [];
    let kept = null;
    if (schema) {
      const v = payload ? JSON.parse(payload) : {};
      if (rulesPolicy == 'strip') {
        stripMembers(schema, v, field, out, defs);
        if (out.length) kept = v;
      }
      check(schema, v, field, out, defs);
    }
    if (traits && userTraits) check(traits, JSON.parse(userTraits), 'traits', out, defs);
    if (out.length) return text([rulesPolicy == 'drop' ? 1 : 0, kept, ...out.flat()]);
  };
  return { id, version: version ?? null, traits: [...planned.values()].some((r) => r[2]), judge };
}

// The bounds of the counts (core/src/plan/tally.rs): pairs of event and
// rule counted one by one, then under OTHER; the latest violations kept.
const MAX_TALLIED = 200;
const MAX_RECENT = 10;
const OTHER = '(other events)';

/**
 * The tracking-plan side of one Cairn instance: `record(plan, core, kind,
 * name, payload)` judges a call under `plan` (from `compilePlan`; none:
 * recorded as it is), has the core record it as the verdict says and
 * counts its violations (strict mode: throws them instead of recording);
 * `stats()` is `stats().plan`;
 * `forget()` erases the latest violations' values (they quote the user's
 * data), as a purge does natively. The counts live in localStorage under
 * `<prefix>:s:plan_violations` (in memory when storage is unavailable).
 */
export function planCounts(prefix, strict) {
  const key = `${prefix}:s:plan_violations`;
  let memory = { violations: [], recent: [] };
  const load = () => {
    try {
      const v = JSON.parse(localStorage.getItem(key));
      if (Array.isArray(v?.violations) && Array.isArray(v.recent)) return v;
    } catch {
      // Unavailable storage or a damaged value: the copy in memory.
    }
    return memory;
  };
  const save = (v) => {
    memory = v;
    try {
      localStorage.setItem(key, JSON.stringify(v));
    } catch {
      // Storage full or unavailable: the counts stay in memory.
    }
  };
  const find = (list, event, rule) => list.findIndex((c) => c.event == event && c.rule == rule);
  const add = (list, event, rule) => {
    let i = find(list, event, rule);
    if (i < 0 && list.length >= MAX_TALLIED) i = find(list, (event = OTHER), rule);
    if (i >= 0) return list[i].count++;
    i = list.findIndex((c) => c.event > event || (c.event == event && c.rule > rule));
    list.splice(i < 0 ? list.length : i, 0, { event, rule, count: 1 });
  };
  return {
    record(plan, core, kind, name, payload) {
      // This package's core records every call this way (it has no `record`).
      let verdict;
      try {
        verdict = plan?.judge(kind, name, payload, plan.traits ? core.traits() : '');
      } catch {
        // A payload nested deeper than the checker's stack (under a plan
        // whose definitions nest) goes to the core unjudged: its input
        // limits refuse it, counted, with their own error.
      }
      if (!verdict) return core.recordJudged(kind, name, payload, 0, '');
      const [drop, kept, ...flat] = JSON.parse(verdict);
      const found = [];
      for (let i = 0; i < flat.length; i += 3) found.push({ rule: flat[i], path: flat[i + 1], message: flat[i + 2] });
      const event = kind == 'track' ? name : kind;
      const counted = strict
        ? core.recordJudged(kind, name, payload, 2, '')
        : core.recordJudged(kind, name, kept ? (Object.keys(kept).length ? JSON.stringify(kept) : '') : payload, drop, JSON.stringify(found));
      if (counted) {
        const s = load();
        for (const v of found) {
          add(s.violations, event, v.rule);
          s.recent.push({ event, ...v });
        }
        s.recent = s.recent.slice(-MAX_RECENT);
        save(s);
      }
      if (strict) {
        const texts = found.map((v) => (v.path ? `${v.path}: ${v.message}` : v.message)).join('; ');
        throw new Error(`"${event}" breaks tracking plan ${plan.id}: ${texts} (fix the call, or the plan; strict_tracking_plan refuses such calls)`);
      }
    },
    stats: load,
    forget() {
      const s = load();
      if (s.recent.length) save({ ...s, recent: [] });
    },
  };
}
