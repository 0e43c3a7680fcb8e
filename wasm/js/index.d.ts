// Types of the cairn browser package (cairn-web).

/** A JSON object: what properties, traits and context are made of. */
export type JsonObject = { [key: string]: unknown };

/** What the user said about one consent category. */
export type ConsentState = 'granted' | 'denied' | 'unknown';

/** Options of `Cairn.load`. Durations are in milliseconds. */
export interface CairnOptions {
  /** The source's write key (sent in the batch body). Required. */
  writeKey: string;
  /** The backend's base URL; batches go to `${endpoint}/v1/batch`. Required. */
  endpoint: string;
  /** Send a batch once this many events are queued (default 20). */
  flushAt?: number;
  /** Send queued events at the latest this long after the first (default 10000). */
  flushInterval?: number;
  /** Most events in one batch (default 100). */
  maxBatchEvents?: number;
  /** Most bytes in one batch (default 60000, so every batch fits a beacon). */
  maxBatchBytes?: number;
  /** Largest single event (default 32000). */
  maxEventBytes?: number;
  /** Time limit of one upload (default 15000). */
  requestTimeout?: number;
  /** Window of the first retry (default 1000); doubles per failure. */
  retryBaseDelay?: number;
  /** Longest wait between retries (default 300000). */
  maxRetryDelay?: number;
  /** Most events queued; past it the oldest go first, counted as `overflow` (default 20000). */
  maxQueueEvents?: number;
  /** Most bytes of event JSON queued (default 8000000); in `localStorage` they take about a third of that. */
  maxQueueBytes?: number;
  /** Events older than this are dropped instead of sent (default 30 days). */
  maxEventAge?: number;
  /** A session ends after this long without events (default 30 minutes). */
  sessionTimeout?: number;
  /** Record `Session Started` / `Session Ended` events (default false). */
  sessionEvents?: boolean;
  /** `identify` with a different user first resets the identity (default true). */
  resetOnUserSwitch?: boolean;
  /** Consent categories and their state before the user decides. */
  consent?: Record<string, ConsentState>;
  /** Categories that must be granted before anything is stored or sent. */
  requiredConsent?: string[];
  /** Context carried by every event, e.g. `{ app: { name: 'Shop' } }`. */
  context?: JsonObject;
  /** The anonymous id to use on a first visit instead of a new one. */
  anonymousId?: string;
  /**
   * The tracking plan every call is checked against (an object, or its JSON
   * text; see docs/tracking-plans.md). `pattern`s run on the page's RegExp.
   * A plan that does not load makes `Cairn.load` throw, naming where. Only a
   * package built with the `tracking-plan` feature has plans; the default
   * package throws, saying so.
   */
  trackingPlan?: JsonObject | string;
  /** Strict mode (development): a call that breaks the plan throws and records nothing. */
  strictTrackingPlan?: boolean;
  /**
   * The wire `endpoint` speaks (default 'segment'). Only a package built
   * with the `amplitude` or `posthog` feature has this option.
   */
  destination?: 'segment' | 'amplitude' | 'amplitude-batch' | 'posthog';
  /**
   * More destinations, each delivered on its own from the one queue (see
   * docs/web.md, "Several destinations"). Only a package built with the
   * `destinations` feature has this option.
   */
  destinations?: DestinationOptions[];
  /** Prefix of cairn's localStorage keys (default 'cairn'). */
  storageKey?: string;
  /**
   * Also keep the anonymous id in a first-party cookie (`cairn_aid`), e.g.
   * `{ domain: '.example.com' }` to share it across subdomains. Off by default.
   */
  cookie?: false | { domain?: string; maxAgeDays?: number; name?: string };
  /** Where the .wasm file is, if not next to index.js. */
  wasm?: string | URL | Request | Response | BufferSource | WebAssembly.Module;
  /** Called with each step (recorded, sent, delivered, failed, handoff, adopted), e.g. for a debug panel. */
  onLog?: (entry: LogEntry) => void;
}

/** One more destination (the `destinations` option). */
export interface DestinationOptions {
  /** Its name: its delivery progress is kept under it; unique, not 'default'. Required. */
  name: string;
  /** The wire it speaks (default 'segment'; others need the package's `amplitude` / `posthog` feature). */
  destination?: 'segment' | 'amplitude' | 'amplitude-batch' | 'posthog';
  /** Its base URL. Required. */
  endpoint: string;
  /** Its write key or API key. Required. */
  writeKey: string;
  /** Event names it takes (exact, or a prefix ending in `*`); default every name. */
  allowEvents?: string[];
  /** Event names it never takes. */
  denyEvents?: string[];
  /** Call types it takes (track, identify, alias, group, screen, page); default every type. */
  callTypes?: string[];
  /** Consent categories that must all have been granted at the call for it to receive an event. */
  consentCategories?: string[];
  /** Most events in one of its batches (at most `maxBatchEvents`). */
  maxBatchEvents?: number;
}

/** Delivery figures, of the whole queue (`Stats`) or of one destination. */
export interface DeliveryStats {
  queuedEvents: number;
  queuedBytes: number;
  inFlightEvents: number;
  /** Acknowledged by the backend, or handed to the browser as the page went away. */
  deliveredEvents: number;
  requests: number;
  retries: number;
  nextRetryInMs: number | null;
  lastError: string | null;
  lastRejection: string | null;
  authFailed: boolean;
  dropped: DropCounts;
}

/** One destination's part of `stats()`, with several (its `queuedEvents`: past its cursor, not yet delivered, dropped or passed over by its routing). */
export interface DestinationStats extends DeliveryStats {
  name: string;
  /** Events its routing passed over (not for it), or that a gone tab whose queue this one took over had delivered to it. */
  skippedEvents: number;
}

/** One step reported to `onLog`. */
export interface LogEntry {
  type: 'recorded' | 'sent' | 'delivered' | 'failed' | 'handoff' | 'adopted';
  /** Milliseconds since the epoch. */
  at: number;
  [detail: string]: unknown;
}

/** Dropped events, by reason. */
export interface DropCounts {
  invalid: number;
  oversize: number;
  overflow: number;
  expired: number;
  rejected: number;
  consent: number;
  corrupt: number;
  /** Dropped by the tracking plan (`drop` policy, `unplanned: "drop"`, or strict mode). */
  planViolation: number;
}

/** Tracking-plan violations over the life of this browser's queue. */
export interface PlanStats {
  /** How many times each event broke each rule. */
  violations: { event: string; rule: string; count: number }[];
  /** The latest violations (at most 10), oldest first, e.g. `{ path: 'properties.price', message: 'expected number, got string "9.99"' }`. */
  recent: { event: string; rule: string; path: string; message: string }[];
}

/** A snapshot of the queue and delivery. */
export interface Stats extends DeliveryStats {
  oldestQueuedAgeMs: number | null;
  memoryEvents: number;
  storage: { state: 'ok' } | { state: 'failing'; error: string };
  /** Each destination's part, with several (the `destinations` option); absent with one. */
  destinations?: DestinationStats[];
  plan: PlanStats;
  browser: {
    /** This tab's id (its queue in localStorage). */
    tab: string;
    /** 'localStorage', or 'memory fallback' once a write was refused. */
    storage: string;
    /** Writes refused with QuotaExceededError (kept in memory instead). */
    quotaErrors: number;
    /** Writes refused because storage is unavailable. */
    unavailableErrors: number;
    /** Values held only in memory right now. */
    volatileValues: number;
    storageError: string | null;
    /** Events held in memory until consent is decided. */
    heldForConsent: number;
    /** Events handed to the browser (beacon / keepalive) as the page went away. */
    handedOffEvents: number;
    /** Events taken over from tabs that were gone. */
    adoptedEvents: number;
    adoptedTabs: number;
  };
}

/** What `forget()` erased. */
export interface Forgotten {
  anonymousIds: string[];
  userIds: string[];
  eventsErased: number;
}

/** What `flush()` achieved before it resolved. */
export interface FlushReport {
  delivered: number;
  remaining: number;
}

/** One page's cairn. */
export declare class Cairn {
  /** Loads the wasm module and restores identity and consent. Rejects on invalid options. */
  static load(options: CairnOptions): Promise<Cairn>;
  private constructor();
  /** Records that the user did `event`. Throws a TypeError on invalid input. */
  track(event: string, properties?: JsonObject): void;
  /** Records a page view; url, path, referrer, title and search are filled in. */
  page(name?: string, properties?: JsonObject): void;
  page(properties: JsonObject): void;
  /** Records a screen view. */
  screen(name: string, properties?: JsonObject): void;
  /** Says who the user is. */
  identify(userId: string, traits?: JsonObject): void;
  /** Says the user belongs to a group. */
  group(groupId: string, traits?: JsonObject): void;
  /** Links the current user to `newId`. */
  alias(newId: string): void;
  /** New anonymous id; user id, traits and group cleared. */
  reset(): void;
  /** Replaces the anonymous id. */
  setAnonymousId(id: string): void;
  /** Merges into every later event's context; `null` removes a key. */
  setContext(context: JsonObject): void;
  /** Replaces the tracking plan for every later call (`null` removes it); throws naming where a plan is wrong. */
  setTrackingPlan(plan: JsonObject | string | null): void;
  /** Records the user's decision for one consent category. */
  setConsent(category: string, state: ConsentState): void;
  /** Opts out (default) or back in. */
  optOut(optedOut?: boolean): void;
  /** Erases the user from this browser; returns the ids erased. */
  forget(): Forgotten;
  /** Sends everything recorded so far; resolves when delivered or after `timeoutMs` (default 5000). */
  flush(timeoutMs?: number): Promise<FlushReport>;
  /** A snapshot of the queue, delivery, drops and storage. */
  stats(): Stats;
  /** The anonymous id in force. */
  readonly anonymousId: string;
  /** The user id in force. */
  readonly userId: string | undefined;
  /** Hands queued events to the browser and stops this instance. */
  close(): void;
}

export default Cairn;
