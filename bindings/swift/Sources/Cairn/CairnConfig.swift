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
    /// On iOS, flush (off the main thread) when the app enters the background.
    public var flushOnBackground = true

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
            anonymousId: anonymousId
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
