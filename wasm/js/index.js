// cairn for web pages: the page-facing API over the wasm core.
//
// This file decides only what needs the browser's event loop: timers (from
// the engine's next wake-up), fetch and sendBeacon, page lifecycle events,
// Web Locks on each tab's queue, cross-tab `storage` events, and the
// first-party cookie. Every rule about what to send, when to retry, what
// consent allows and who the user is lives in the Rust core (`Core`).

import init, { Core } from './cairn_wasm.js';
import { compilePlan, planCounts } from './plan.js';

/** Options this file reads; every other option goes to the core, which checks it. */
const JS_OPTIONS = ['storageKey', 'cookie', 'wasm', 'onLog', 'trackingPlan'];
const COOKIE_NAME = 'cairn_aid';
const locks = globalThis.navigator?.locks;

let wasmReady = null;

const camel = (k) => k.replace(/_([a-z])/g, (_, c) => c.toUpperCase());
function camelKeys(v) {
  if (Array.isArray(v)) return v.map(camelKeys);
  if (v && typeof v === 'object') {
    const out = {};
    for (const k of Object.keys(v)) out[camel(k)] = camelKeys(v[k]);
    return out;
  }
  return v;
}

// An upload as the core hands it over: "<id> <events> <keepalive 1|0> <url>\n<body>"
// (the URL holds no white space).
function readUpload(text) {
  const nl = text.indexOf('\n');
  const [id, events, keepalive, url] = text.slice(0, nl).split(' ');
  return { id: Number(id), url, body: text.slice(nl + 1), events: Number(events), keepalive: keepalive === '1' };
}

function randomId() {
  const c = globalThis.crypto;
  const raw = c?.randomUUID ? c.randomUUID() : `${Date.now().toString(36)}${Math.random().toString(36).slice(2)}`;
  return raw.replace(/-/g, '').slice(0, 16);
}

function readCookie(name) {
  try {
    for (const part of document.cookie.split('; ')) {
      const i = part.indexOf('=');
      if (part.slice(0, i) === name) return decodeURIComponent(part.slice(i + 1));
    }
  } catch {
    // Cookies may be blocked; the id then lives in localStorage only.
  }
  return undefined;
}

function writeCookie(name, value, cookie) {
  try {
    const days = cookie.maxAgeDays ?? 365;
    let text = `${name}=${encodeURIComponent(value)}; Path=/; Max-Age=${Math.round(days * 86400)}; SameSite=Lax`;
    if (cookie.domain) text += `; Domain=${cookie.domain}`;
    if (location.protocol === 'https:') text += '; Secure';
    document.cookie = text;
  } catch {
    // As above: a blocked cookie is not the page's problem.
  }
}

function pageProperties() {
  return {
    url: location.href,
    path: location.pathname,
    referrer: document.referrer,
    title: document.title,
    search: location.search,
  };
}

const toJson = (value) => (value == null ? '' : JSON.stringify(value));

// A tracking plan as the page gives it (an object, its JSON text, or null
// for none), compiled; throws saying what is wrong with it.
function readPlan(plan) {
  if (typeof plan === 'string') {
    try {
      plan = JSON.parse(plan);
    } catch (e) {
      throw new Error(`the tracking plan is not valid JSON (${e.message})`);
    }
  }
  return plan == null ? undefined : compilePlan(plan);
}

// An endpoint as the browser reads it: its own parser (host, IPv6 literal,
// port, `\` read as `/`, dot segments) gives the URL that `fetch` will use,
// by the WHATWG rules the native build's url crate follows, and the core
// checks cairn's rules (scheme, no credentials, no query, no /v1/batch at
// the end) on that, without a URL parser of its own in the module. Text
// with white space or a control character, or without `http://` or
// `https://` at its start, goes as given: the core refuses it and says why
// (the parser would quietly drop a newline, and reads `http:host` as
// `http://host/`).
function readEndpoint(e, name) {
  if (typeof e !== 'string' || /[\0- \x7f-\x9f]/.test(e) || !/^https?:\/\//i.test(e)) return e;
  try {
    return new URL(e).href;
  } catch {
    throw new TypeError(`cairn: invalid config \`${name}\`: \`${e.replace(/\/\/[^/?#]*@/, '//***@')}\` is not a valid URL: give the backend's base URL, e.g. https://api.segment.io`);
  }
}

/**
 * One page's cairn. Create it with `await Cairn.load({ writeKey, endpoint })`.
 */
export class Cairn {
  /**
   * Loads the wasm module (once per page), checks the options and restores
   * the visitor's identity and consent. Throws on invalid options.
   */
  static async load(options = {}) {
    if (!options || typeof options !== 'object') throw new TypeError('cairn: Cairn.load needs an options object like { writeKey, endpoint }');
    const coreOptions = {};
    for (const [k, v] of Object.entries(options)) if (!JS_OPTIONS.includes(k)) coreOptions[k] = v;
    if (options.onLog !== undefined && typeof options.onLog !== 'function') throw new TypeError('cairn: option `onLog` must be a function');
    if (options.cookie !== undefined && options.cookie !== false && typeof options.cookie !== 'object') {
      throw new TypeError('cairn: option `cookie` must be false or an object like { domain: ".example.com" }');
    }
    if (options.endpoint !== undefined) coreOptions.endpoint = readEndpoint(options.endpoint, 'endpoint');
    if (Array.isArray(options.destinations)) {
      coreOptions.destinations = options.destinations.map((d, i) =>
        d?.endpoint === undefined ? d : { ...d, endpoint: readEndpoint(d.endpoint, `destinations[${i}].endpoint`) },
      );
    }
    let plan;
    try {
      plan = readPlan(options.trackingPlan);
    } catch (e) {
      throw new Error(`cairn: invalid option \`trackingPlan\`: ${e.message}`);
    }
    wasmReady = wasmReady || init(options.wasm ? { module_or_path: options.wasm } : undefined);
    await wasmReady;
    const cairn = new Cairn(JSON.stringify(coreOptions), options, plan);
    await cairn._start();
    return cairn;
  }

  /** @private Use `Cairn.load`. */
  constructor(coreOptionsJson, options, plan) {
    this._coreOptions = coreOptionsJson;
    this._plan = plan;
    this._prefix = options.storageKey ?? 'cairn';
    // Tracking plans' violation counts (undefined in a package without plans).
    this._counts = planCounts(this._prefix, options.strictTrackingPlan === true);
    this._cookie = options.cookie ? { name: COOKIE_NAME, ...options.cookie } : null;
    this._onLog = options.onLog ?? null;
    this._core = this._newCore();
    this._timer = undefined;
    // Uploads on the wire by id: one at a time for each destination.
    this._flights = new Map();
    this._waiters = [];
    this._releases = [];
    this._aliveTimer = undefined;
    this._closed = false;
    // Set at page hide: the page may live on for a moment, but its queue
    // is no longer its own (the lock is released), so it sends nothing.
    this._gone = false;
    this._adoptTimer = undefined;
    this._adoptTries = 0;
    this._cookieValue = undefined;
    this._listeners = [];
  }

  _newCore() {
    const fromCookie = this._cookie ? readCookie(this._cookie.name) : undefined;
    // Reading localStorage throws when the browser disables storage: the
    // core is told what happened (and reports it in stats) either way.
    let storage;
    let found = true;
    try {
      storage = globalThis.localStorage;
    } catch (e) {
      storage = e;
      found = false;
    }
    const core = new Core(this._coreOptions, this._prefix, randomId(), fromCookie, storage, found);
    // Back from the back/forward cache the page's context goes on.
    if (this._ctx) core.setContext(JSON.stringify(this._ctx));
    this._stamp(core);
    return core;
  }

  async _start() {
    this._syncCookie();
    await this._claimTab();
    await this._adoptGoneTabs();
    this._listen();
    this._pump();
  }

  _log(type, detail) {
    if (!this._onLog) return;
    try {
      this._onLog({ type, at: Date.now(), ...detail });
    } catch {
      // A failing log callback must not break delivery.
    }
  }

  _lockName(tab) {
    return `cairn:${this._prefix}:tab:${tab}`;
  }

  // Holds this tab's queue for as long as the page lives: the browser
  // releases the lock when the tab dies, which is how other tabs know they
  // may adopt the queue. Without Web Locks, a liveness mark stands in.
  async _claimTab() {
    const core = this._core;
    if (!locks) {
      core.markAlive(true);
      clearInterval(this._aliveTimer);
      this._aliveTimer = setInterval(() => this._core.markAlive(true), 60_000);
      return;
    }
    await new Promise((held) => {
      locks
        .request(this._lockName(core.tab()), () => {
          held();
          return new Promise((release) => this._releases.push(release));
        })
        .catch(() => held());
    });
  }

  // Takes over the queues of tabs that are gone (their lock is free), each
  // under that tab's lock so two tabs never take the same queue. The lock of
  // an adopted tab is kept until this page goes away: another tab whose view
  // of localStorage lags behind cannot take the (now empty) queue again.
  async _adoptGoneTabs() {
    if (this._gone || this._closed) return;
    clearTimeout(this._adoptTimer);
    // Each tab id ends with ':' (an id never holds one).
    const tabs = this._core.otherTabs(!locks).split(':').slice(0, -1);
    let busy = 0;
    for (const tab of tabs) {
      const adopt = () => {
        const n = this._core.adopt(tab);
        if (n > 0) this._log('adopted', { tab, events: n });
      };
      if (!locks) {
        adopt();
        continue;
      }
      try {
        await new Promise((done) => {
          locks
            .request(this._lockName(tab), { ifAvailable: true }, (lock) => {
              done();
              if (!lock) {
                busy += 1;
                return undefined;
              }
              adopt();
              return new Promise((release) => this._releases.push(release));
            })
            .catch(done);
        });
      } catch {
        // Locks refused (an opaque origin): leave that queue for later.
      }
    }
    // A tab whose lock is held is alive, or is the page this one replaced
    // (a reload, a navigation) still being torn down: look again soon,
    // then now and then.
    if (busy > 0) {
      const delay = [500, 2_000, 10_000][this._adoptTries] ?? 60_000;
      this._adoptTries += 1;
      this._adoptTimer = setTimeout(() => this._adoptGoneTabs(), delay);
    }
    this._pump();
  }

  _on(target, type, fn) {
    target.addEventListener(type, fn);
    this._listeners.push([target, type, fn]);
  }

  _listen() {
    this._on(document, 'visibilitychange', () => {
      if (document.visibilityState === 'hidden') {
        // The page may never run again: start sending everything now,
        // while its answers can still be read.
        this._core.flush();
        this._pump();
      } else {
        this._adoptGoneTabs();
      }
    });
    this._on(window, 'pagehide', () => this._handOff());
    this._on(window, 'pageshow', (e) => {
      if (e.persisted) this._restore();
    });
    this._on(window, 'storage', (e) => {
      if (e.key === null || e.key.startsWith(`${this._prefix}:s:`)) {
        this._core.syncShared();
        this._after();
      }
    });
  }

  // The page is going away: what is queued goes to the browser (sendBeacon,
  // chunks under 64 KB), unless delivery is failing (then it stays queued
  // for the next page load). The tab's lock is released so the page stays
  // eligible for the back/forward cache and other tabs may adopt leftovers.
  _handOff() {
    if (this._closed || this._gone) return;
    this._gone = true;
    clearTimeout(this._adoptTimer);
    const report = camelKeys(
      JSON.parse(
        this._core.handOff((text) => {
          const { url, body } = readUpload(text);
          // Every browser cairn supports has sendBeacon (it throws, rather
          // than refusing, in some embedded views: the batch then stays).
          try {
            return navigator.sendBeacon(url, new Blob([body], { type: 'text/plain;charset=UTF-8' }));
          } catch {
            return false;
          }
        }),
      ),
    );
    for (const id of [report.cancel].flat()) this._flights.get(id)?.abort();
    this._flights.clear();
    this._log('handoff', report);
    clearTimeout(this._timer);
    clearInterval(this._aliveTimer);
    if (!locks) this._core.markAlive(false);
    for (const release of this._releases.splice(0)) release();
  }

  // Back from the back/forward cache: continue as a new tab (another tab may
  // have taken the old queue meanwhile), adopting what is left of the old one.
  async _restore() {
    if (this._closed) return;
    this._gone = false;
    this._adoptTries = 0;
    const old = this._core;
    this._core = this._newCore();
    old.free();
    await this._claimTab();
    await this._adoptGoneTabs();
  }

  _pump() {
    if (this._closed || this._gone) return;
    // (An upload's text is never empty: "<id> <events> ...".)
    for (let text; (text = this._core.poll()); ) this._send(readUpload(text));
    this._schedule();
  }

  _schedule() {
    clearTimeout(this._timer);
    this._timer = undefined;
    if (this._closed || this._gone) return;
    const at = this._core.nextWakeup();
    if (at === undefined) return;
    this._timer = setTimeout(() => this._pump(), Math.max(0, at - Date.now()));
  }

  _send(upload) {
    const { id, url, body, events, keepalive } = upload;
    const ctrl = new AbortController();
    this._flights.set(id, ctrl);
    const timer = setTimeout(() => ctrl.abort(), this._core.requestTimeout());
    this._log('sent', { id, events, bytes: body.length });
    fetch(url, {
      method: 'POST',
      body,
      keepalive,
      // text/plain and no Authorization header (the write key is in the
      // body): a CORS-simple request, no preflight, same as a beacon.
      headers: { 'Content-Type': 'text/plain;charset=UTF-8' },
      credentials: 'omit',
      // A redirect is not a delivery: followed, a 301 or 302 turns the POST
      // into a GET, whose 200 would count the batch delivered. As natively,
      // the batch is retried (and `lastError` says the request failed).
      redirect: 'error',
      signal: ctrl.signal,
    })
      .then(async (r) => {
        // Far more than the core's 512-byte report, so that a write key the
        // server echoes is whole when the core cuts it out.
        const text = (await r.text().catch(() => '')).slice(0, 4000);
        return [r.status, r.headers.get('Retry-After'), text];
      })
      .then(
        ([status, retryAfter, text]) => {
          if (this._flights.get(id) !== ctrl || this._closed) return;
          this._core.onResponse(id, status, retryAfter ?? undefined, text);
          this._log(status >= 200 && status < 300 ? 'delivered' : 'failed', { id, events, status });
        },
        (e) => {
          if (this._flights.get(id) !== ctrl || this._closed) return;
          const reason = ctrl.signal.aborted ? 'aborted: requestTimeout or a purge' : String(e?.message || e);
          this._core.onError(id, reason);
          this._log('failed', { id, events, error: reason });
        },
      )
      .finally(() => {
        clearTimeout(timer);
        // By its controller, not its id: a core made again (back from the
        // back/forward cache) numbers its uploads from 1 again.
        if (this._flights.get(id) === ctrl) this._flights.delete(id);
        // Another destination's upload may have been purged meanwhile.
        this._after();
        this._tidy();
      });
    // The next batch is read from storage while this one is on the wire
    // (the page is idle then), not after its answer.
    const core = this._core;
    setTimeout(() => this._core === core && !this._closed && core.claimNext());
  }

  // Delivered events' keys are removed once no upload is out, a share at a
  // time (removing them between an answer and the next request slowed a
  // drain by a sixth).
  _tidy() {
    clearTimeout(this._tidier);
    this._tidier = setTimeout(() => !this._closed && !this._flights.size && this._core.tidy() && this._tidy());
  }

  // After any call: abort an upload whose events were purged, keep the
  // cookie in step with the anonymous id, and let the engine send.
  _after() {
    this._flights.get(this._core.purgedUpload())?.abort();
    this._syncCookie();
    this._answerWaiters();
    this._pump();
  }

  _syncCookie() {
    if (!this._cookie) return;
    const id = this._core.anonymousId();
    if (id !== this._cookieValue) {
      writeCookie(this._cookie.name, id, this._cookie);
      this._cookieValue = id;
    }
  }

  // What the page added to the context, kept for a core made again.
  _setContext(context) {
    this._core.setContext(JSON.stringify(context ?? null));
    this._ctx = { ...this._ctx, ...context };
  }

  // Every event sent under a plan carries its id and version, and only
  // its own violations (a page's `violations` context would mix with them).
  _stamp(core = this._core, p = this._plan) {
    if (p) core.setContext(JSON.stringify({ trackingPlan: { id: p.id, version: p.version }, violations: null }));
  }

  _record(kind, name, payload) {
    if (this._closed) throw new Error('cairn: this instance was closed; load a new one');
    let json;
    try {
      json = toJson(payload);
    } catch (e) {
      this._core.dropInvalid();
      throw new TypeError(`cairn: ${kind === 'identify' || kind === 'group' ? 'traits' : 'properties'} cannot be turned into JSON (${e.message})`);
    }
    name = String(name ?? '');
    if (this._counts) this._counts.record(this._plan, this._core, kind, name, json);
    else this._core.record(kind, name, json);
    this._log('recorded', { kind, name, payload });
    this._after();
  }

  /** Records that the user did `event`. */
  track(event, properties) {
    this._record('track', event, properties);
  }

  /**
   * Records a page view. `url`, `path`, `referrer`, `title` and `search`
   * are filled in from the page unless given; they also go to `context.page`.
   */
  page(name, properties) {
    if (name && typeof name === 'object') [name, properties] = ['', name];
    const page = pageProperties();
    this._setContext({ page });
    this._record('page', name ?? '', { ...page, ...(properties || {}) });
  }

  /** Records a screen view (apps rendering screens inside a page). */
  screen(name, properties) {
    this._record('screen', name, properties);
  }

  /** Says who the user is; later events carry `userId`. */
  identify(userId, traits) {
    this._record('identify', userId, traits);
  }

  /** Says the user belongs to `groupId`. */
  group(groupId, traits) {
    this._record('group', groupId, traits);
  }

  /** Links the current user to `newId`, which becomes the user id. */
  alias(newId) {
    this._record('alias', newId, undefined);
  }

  /** Forgets the user on this device: new anonymous id, no user id or traits. */
  reset() {
    this._core.reset();
    this._after();
  }

  /** Replaces the anonymous id (to reuse one the site already has). */
  setAnonymousId(id) {
    this._core.setAnonymousId(String(id));
    this._after();
  }

  /** Merges `context` into every later event's context; `null` removes a key. */
  setContext(context) {
    this._setContext(context);
    this._stamp();
  }

  /** Replaces the tracking plan (an object or its JSON text) for every later call; `null` removes it. */
  setTrackingPlan(plan) {
    let compiled;
    try {
      compiled = readPlan(plan);
    } catch (e) {
      throw new Error(`cairn: invalid tracking plan: ${e.message}`);
    }
    // A core made again (back from the back/forward cache) starts with it too.
    this._plan = compiled;
    if (!compiled) this._core.setContext('{"trackingPlan":null}');
    this._stamp();
  }

  /** Records the user's decision for one category: 'granted', 'denied' or 'unknown'. */
  setConsent(category, state) {
    this._core.setConsent(String(category), String(state));
    if (state != 'granted') this._counts?.forget();
    this._after();
  }

  /** `true`: nothing more is stored or sent, and the queue is purged (it persists). */
  optOut(optedOut = true) {
    this._core.optOut(Boolean(optedOut));
    if (optedOut) this._counts?.forget();
    this._after();
  }

  /**
   * Erases the user from this browser (every tab's queue, identity, consent
   * decisions) and returns the ids erased, to ask the backend to delete them.
   */
  forget() {
    const erased = camelKeys(JSON.parse(this._core.forget()));
    this._counts?.forget();
    this._after();
    return erased;
  }

  /**
   * Sends everything recorded so far and resolves when it is delivered or
   * after `timeoutMs`, with `{ delivered, remaining }`.
   */
  flush(timeoutMs = 5000) {
    this._core.flush();
    const target = this._core.lastSeq();
    const start = this.stats().deliveredEvents;
    return new Promise((resolve) => {
      const waiter = { target, start, resolve };
      waiter.timer = setTimeout(() => this._answer(waiter), timeoutMs);
      this._waiters.push(waiter);
      this._pump();
      this._answerWaiters();
    });
  }

  _answer(waiter) {
    clearTimeout(waiter.timer);
    this._waiters = this._waiters.filter((w) => w !== waiter);
    const s = this.stats();
    waiter.resolve({ delivered: s.deliveredEvents - waiter.start, remaining: s.queuedEvents });
  }

  _answerWaiters() {
    if (this._waiters.length === 0) return;
    const authFailed = this.stats().authFailed;
    for (const w of [...this._waiters]) if (authFailed || this._core.deliveredThrough(w.target)) this._answer(w);
  }

  /** A snapshot of the queue, delivery, drops by reason, and browser storage. */
  stats() {
    const s = camelKeys(JSON.parse(this._core.stats()));
    if (this._counts) s.plan = this._counts.stats();
    return s;
  }

  /** The anonymous id in force. */
  get anonymousId() {
    return this._core.anonymousId();
  }

  /** The user id in force, or undefined. */
  get userId() {
    return this._core.userId();
  }

  /**
   * Hands what is queued to the browser (as on page hide), stops timers and
   * listeners, and releases this tab's queue. The instance cannot record after.
   */
  close() {
    if (this._closed) return;
    this._handOff();
    this._closed = true;
    clearTimeout(this._adoptTimer);
    for (const [target, type, fn] of this._listeners) target.removeEventListener(type, fn);
    for (const w of [...this._waiters]) this._answer(w);
  }
}

export default Cairn;
