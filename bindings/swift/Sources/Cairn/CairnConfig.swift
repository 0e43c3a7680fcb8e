// Decides the Swift shape of the configuration: a struct with one optional
// property per core option (nil takes the core's default), durations as
// TimeInterval seconds. Values the facade cannot pass on (negative, NaN,
// too large) are refused here, naming the option; the core checks the rest.

import CairnBindings
import Foundation

/// Settings for a `Cairn` client. Only `endpoint` is required.
public struct CairnConfig {
    /// The write key of your Segment/RudderStack source.
    public var writeKey: String
    /// The backend's base URL; events go to `{endpoint}/v1/batch`.
    public var endpoint: String?
    /// The backend's format; nil is Segment (also RudderStack). With Amplitude
    /// or PostHog, `writeKey` is that project's API key (docs/destinations.md).
    public var destination: Destination?
    /// The buffer file; nil uses `Application Support/<bundle id>/cairn.db`.
    public var storagePath: String?
    /// Send a batch as soon as this many events are queued.
    public var flushAt: Int?
    /// Send queued events at the latest this many seconds after the first arrived.
    public var flushInterval: TimeInterval?
    public var maxBatchEvents: Int?
    public var maxBatchBytes: Int?
    public var maxEventBytes: Int?
    public var requestTimeout: TimeInterval?
    public var gzip: Bool?
    public var retryBaseDelay: TimeInterval?
    public var maxRetryDelay: TimeInterval?
    public var maxQueueEvents: Int?
    public var maxQueueBytes: Int?
    public var maxEventAge: TimeInterval?
    public var maxPendingCalls: Int?
    /// Longest an event call waits for room when the disk is behind (default
    /// 5 ms); then the event is held in memory, or dropped as `overflow` past
    /// that bound. 0 never waits: for the main thread.
    public var recordWait: TimeInterval?
    public var sessionTimeout: TimeInterval?
    public var sessionEvents: Bool?
    public var resetOnUserSwitch: Bool?
    /// Consent categories and their state before the user decides.
    public var consent: [String: ConsentState] = [:]
    /// Categories that must be granted before any event is stored or sent.
    public var requiredConsent: [String] = []
    /// Context every event carries; the platform context is merged beneath it.
    public var context: [String: Any] = [:]
    /// The anonymous id to use on first start instead of a new UUID.
    public var anonymousId: String?
    /// Fill `context` from the platform (app, os, device, locale, timezone).
    public var platformContext = true
    /// The tracking plan (JSON text, docs/tracking-plans.md) every call is checked against.
    public var trackingPlan: String?
    /// Strict mode (debug builds, tests): a call that breaks the plan throws `CairnError.planViolation`.
    public var strictTrackingPlan: Bool?
    /// On iOS, flush (off the main thread) when the app enters the background.
    public var flushOnBackground = true
    /// More destinations besides `endpoint` (which is named `default`), each
    /// fed from the same buffer with its own routing, batches and retries;
    /// empty for one destination. See docs/destinations.md.
    public var destinations: [DestinationConfig] = []
    /// Routing of the own destination (`endpoint`, named `default`), as
    /// `DestinationConfig.allowEvents`: it takes only events whose name is one
    /// of these (exact, or a prefix ending in `*`, as in `"Order *"`); calls
    /// without a name (identify, group, alias) are not concerned. Empty: every
    /// name. What it passes over shows as `skippedEvents` in
    /// `stats().destinations`.
    public var allowEvents: [String] = []
    /// Routing of the own destination: it never takes events whose name is
    /// one of these (exact, or a prefix ending in `*`).
    public var denyEvents: [String] = []
    /// Routing of the own destination: it takes only these call types
    /// (`track`, `identify`, `alias`, `group`, `screen`, `page`); empty: every type.
    public var callTypes: [String] = []
    /// Routing of the own destination: it takes an event only when every one
    /// of these consent categories was granted when the event was recorded;
    /// revoking one purges its queued events (not the other destinations').
    public var consentCategories: [String] = []

    public init(writeKey: String, endpoint: String? = nil) {
        self.writeKey = writeKey
        self.endpoint = endpoint
    }

    func generated(contextJSON: String?) throws -> CairnBindings.CairnConfig {
        CairnBindings.CairnConfig(
            writeKey: writeKey,
            endpoint: endpoint,
            destination: try destination?.generated(),
            storagePath: try storagePath ?? CairnConfig.defaultStoragePath(),
            flushAt: try count32("flushAt", flushAt),
            flushIntervalMs: try millis("flushInterval", flushInterval),
            maxBatchEvents: try count32("maxBatchEvents", maxBatchEvents),
            maxBatchBytes: try count64("maxBatchBytes", maxBatchBytes),
            maxEventBytes: try count64("maxEventBytes", maxEventBytes),
            requestTimeoutMs: try millis("requestTimeout", requestTimeout),
            gzip: gzip,
            retryBaseDelayMs: try millis("retryBaseDelay", retryBaseDelay),
            maxRetryDelayMs: try millis("maxRetryDelay", maxRetryDelay),
            maxQueueEvents: try count64("maxQueueEvents", maxQueueEvents),
            maxQueueBytes: try count64("maxQueueBytes", maxQueueBytes),
            maxEventAgeMs: try millis("maxEventAge", maxEventAge),
            maxPendingCalls: try count32("maxPendingCalls", maxPendingCalls),
            recordWaitMs: try millis("recordWait", recordWait),
            sessionTimeoutMs: try millis("sessionTimeout", sessionTimeout),
            sessionEvents: sessionEvents,
            resetOnUserSwitch: resetOnUserSwitch,
            consent: consent.mapValues { $0.generated },
            requiredConsent: requiredConsent,
            contextJson: contextJSON,
            anonymousId: anonymousId,
            trackingPlanJson: trackingPlan,
            strictTrackingPlan: strictTrackingPlan,
            destinations: try destinations.map { try $0.generated() },
            allowEvents: allowEvents,
            denyEvents: denyEvents,
            callTypes: callTypes,
            consentCategories: consentCategories
        )
    }

    /// `Application Support/<bundle id or "cairn">/cairn.db`, created if missing.
    static func defaultStoragePath() throws -> String {
        let fm = FileManager.default
        guard let support = fm.urls(for: .applicationSupportDirectory, in: .userDomainMask).first else {
            throw CairnError.invalidConfig("invalid config `storagePath`: no Application Support directory here: set storagePath")
        }
        let dir = support.appendingPathComponent(Bundle.main.bundleIdentifier ?? "cairn", isDirectory: true)
        do {
            try fm.createDirectory(at: dir, withIntermediateDirectories: true)
        } catch {
            throw CairnError.storage("cannot create \(dir.path) for the event buffer: \(error.localizedDescription); set storagePath")
        }
        return dir.appendingPathComponent("cairn.db").path
    }
}

/// One more place a `Cairn` client delivers to, besides its `endpoint`: for
/// example Amplitude for order events next to Segment for everything.
///
/// ```swift
/// var config = CairnConfig(writeKey: "SEGMENT_WRITE_KEY", endpoint: "https://api.segment.io")
/// config.destinations = [
///     DestinationConfig(name: "amplitude", kind: .amplitude(), endpoint: "https://api2.amplitude.com",
///                       key: "AMPLITUDE_API_KEY", allowEvents: ["Order *", "Signed Up"],
///                       consentCategories: ["analytics"]),
/// ]
/// ```
///
/// The core checks it when the client is created (a unique name other than
/// `default`, the URL, the key, the call types) and throws
/// `CairnError.invalidConfig` naming the destination that is wrong.
public struct DestinationConfig: Equatable, Sendable {
    /// The name its delivery progress is kept under in the buffer file: keep
    /// it stable across releases.
    public var name: String
    /// The backend format it speaks.
    public var kind: Destination
    /// Its base URL, `http://` or `https://`.
    public var endpoint: String
    /// Write key (Segment) or project API key (Amplitude, PostHog).
    public var key: String
    /// Takes only events whose name is one of these (exact, or a prefix
    /// ending in `*`); empty: every name. Calls without a name (identify,
    /// group, alias) are not concerned.
    public var allowEvents: [String]
    /// Never takes events whose name is one of these (exact, or a prefix ending in `*`).
    public var denyEvents: [String]
    /// Takes only these call types (`track`, `identify`, `alias`, `group`,
    /// `screen`, `page`); empty: every type.
    public var callTypes: [String]
    /// Takes an event only when every one of these consent categories was
    /// granted when it was recorded; revoking one purges this destination's
    /// queued events (only its own).
    public var consentCategories: [String]
    /// Most events in one of its batches; nil: the client's `maxBatchEvents`.
    public var maxBatchEvents: Int?

    /// A destination named `name` speaking `kind` at `endpoint` with `key`;
    /// it takes every event unless the routing lists say otherwise.
    public init(
        name: String,
        kind: Destination,
        endpoint: String,
        key: String,
        allowEvents: [String] = [],
        denyEvents: [String] = [],
        callTypes: [String] = [],
        consentCategories: [String] = [],
        maxBatchEvents: Int? = nil
    ) {
        self.name = name
        self.kind = kind
        self.endpoint = endpoint
        self.key = key
        self.allowEvents = allowEvents
        self.denyEvents = denyEvents
        self.callTypes = callTypes
        self.consentCategories = consentCategories
        self.maxBatchEvents = maxBatchEvents
    }

    func generated() throws -> CairnBindings.DestinationConfig {
        CairnBindings.DestinationConfig(
            name: name,
            kind: try kind.generated(),
            endpoint: endpoint,
            key: key,
            allowEvents: allowEvents,
            denyEvents: denyEvents,
            callTypes: callTypes,
            consentCategories: consentCategories,
            maxBatchEvents: try count32("destinations.\(name).maxBatchEvents", maxBatchEvents)
        )
    }
}

private func invalid(_ option: String, _ reason: String) -> CairnError {
    .invalidConfig("invalid config `\(option)`: \(reason)")
}

private func count32(_ option: String, _ value: Int?) throws -> UInt32? {
    guard let value = value else { return nil }
    guard let v = UInt32(exactly: value) else { throw invalid(option, "must be between 0 and \(UInt32.max), got \(value)") }
    return v
}

private func count64(_ option: String, _ value: Int?) throws -> UInt64? {
    guard let value = value else { return nil }
    guard let v = UInt64(exactly: value) else { throw invalid(option, "must not be negative, got \(value)") }
    return v
}

private func millis(_ option: String, _ seconds: TimeInterval?) throws -> UInt64? {
    guard let seconds = seconds else { return nil }
    guard seconds >= 0 else { throw invalid(option, "must be a number of seconds, not negative, got \(seconds)") }
    return timeoutMillis(seconds)
}

/// Milliseconds for the FFI: NaN and negative become 0, anything too large the largest value.
func timeoutMillis(_ seconds: TimeInterval) -> UInt64 {
    let ms = seconds * 1000
    guard ms >= 0 else { return 0 }
    guard ms < 1.8e19 else { return UInt64.max }
    return UInt64(ms)
}
