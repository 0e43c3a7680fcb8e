// The values the facade speaks in: its error enum (Swift-style case names,
// the core's message unchanged), consent states, and the reports and stats
// as Swift structs with Int fields, converted once from the generated types.

import CairnBindings
import Foundation

/// Every error a cairn call throws; the case says what kind, `message` what to fix.
public enum CairnError: Error, LocalizedError, Equatable {
    /// A configuration option is out of range or malformed; the message names it.
    case invalidConfig(String)
    /// The event, its properties or traits, or an argument is not valid (the message names the key). Nothing was recorded.
    case invalidEvent(String)
    /// The event is over `maxEventBytes` once encoded. Nothing was recorded.
    case eventTooLarge(String)
    /// The buffer file could not be opened or created.
    case storage(String)
    /// Another client in this process, or another process, uses the same buffer file.
    case storageInUse(String)
    /// A waiting call (`forget`, `commit`) did not finish in time; the work goes on in the background.
    case timeout(String)
    /// The client was shut down; create a new one to record again.
    case shutDown(String)
    /// The client was created in the parent of this forked process; create one after the fork.
    case forked(String)
    /// Something cairn did not expect (the message says what). Please report it.
    case `internal`(String)

    /// What was wrong and what to do about it.
    public var message: String {
        switch self {
        case .invalidConfig(let m), .invalidEvent(let m), .eventTooLarge(let m), .storage(let m),
             .storageInUse(let m), .timeout(let m), .shutDown(let m), .forked(let m), .internal(let m):
            return m
        }
    }

    public var errorDescription: String? { message }

    /// The facade's error for any error the generated layer throws.
    static func from(_ error: Error) -> CairnError {
        guard let generated = error as? CairnBindings.CairnError else {
            return .internal("cairn failed unexpectedly: \(error)")
        }
        switch generated {
        case .InvalidConfig(let m): return .invalidConfig(m)
        case .InvalidEvent(let m): return .invalidEvent(m)
        case .EventTooLarge(let m): return .eventTooLarge(m)
        case .Storage(let m): return .storage(m)
        case .StorageInUse(let m): return .storageInUse(m)
        case .Timeout(let m): return .timeout(m)
        case .ShutDown(let m): return .shutDown(m)
        case .Forked(let m): return .forked(m)
        case .Internal(let m): return .internal(m)
        }
    }
}

/// Runs a call into the generated layer, translating its errors.
func ffiCall<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch {
        throw CairnError.from(error)
    }
}

/// The user's decision for one consent category.
public enum ConsentState: Sendable {
    /// The user agreed.
    case granted
    /// The user refused.
    case denied
    /// The user has not decided yet.
    case unknown

    var generated: CairnBindings.ConsentState {
        switch self {
        case .granted: return .granted
        case .denied: return .denied
        case .unknown: return .unknown
        }
    }
}

/// Where a `Cairn` client delivers: the backend's wire format.
public enum Destination: Equatable, Sendable {
    /// Segment or RudderStack `POST /v1/batch` (the default).
    case segment
    /// Amplitude HTTP V2 `POST /2/httpapi`, or the Batch API `POST /batch`
    /// with `batchApi`; `minIdLength` is Amplitude's `options.min_id_length`
    /// (nil keeps Amplitude's 5).
    case amplitude(batchApi: Bool = false, minIdLength: Int? = nil)
    /// PostHog `POST /batch/`.
    case postHog

    func generated() throws -> CairnBindings.DestinationKind {
        switch self {
        case .segment: return .segment
        case let .amplitude(batchApi, minIdLength):
            var length: UInt32?
            if let n = minIdLength {
                guard let v = UInt32(exactly: n) else {
                    throw CairnError.invalidConfig("invalid config `destination`: minIdLength must be between 0 and \(UInt32.max), got \(n)")
                }
                length = v
            }
            return .amplitude(batchApi: batchApi, minIdLength: length)
        case .postHog: return .postHog
        }
    }
}

/// What `flush` or `shutdown` achieved before it returned.
public struct FlushReport: Equatable, Sendable {
    /// Events the backend acknowledged while the call waited.
    public let delivered: Int
    /// Events still queued when it returned; they stay on disk and go out later.
    public let remaining: Int

    init(_ r: CairnBindings.FlushReport) {
        delivered = Int(clamping: r.delivered)
        remaining = Int(clamping: r.remaining)
    }
}

/// What `forget` erased, so the app can ask the backend to delete the same user.
public struct Forgotten: Equatable, Sendable {
    public let anonymousIds: [String]
    public let userIds: [String]
    public let eventsErased: Int

    init(_ f: CairnBindings.Forgotten) {
        anonymousIds = f.anonymousIds
        userIds = f.userIds
        eventsErased = Int(clamping: f.eventsErased)
    }
}

/// Dropped events by reason, over the life of the buffer file.
public struct DroppedEvents: Equatable, Sendable {
    public let invalid: Int
    public let oversize: Int
    public let overflow: Int
    public let expired: Int
    public let rejected: Int
    public let consent: Int
    public let corrupt: Int

    /// All drops together.
    public var total: Int { invalid + oversize + overflow + expired + rejected + consent + corrupt }
}

/// A snapshot of the queue, delivery and drops; taking it never touches disk.
public struct CairnStats: Equatable, Sendable {
    public let queuedEvents: Int
    public let queuedBytes: Int
    public let oldestQueuedAgeMs: Int?
    public let memoryEvents: Int
    public let inFlightEvents: Int
    public let deliveredEvents: Int
    public let requests: Int
    public let retries: Int
    public let nextRetryInMs: Int?
    public let lastError: String?
    public let lastRejection: String?
    public let authFailed: Bool
    /// nil while the buffer file works; what failed while writes fail.
    public let storageError: String?
    public let dropped: DroppedEvents

    init(_ s: CairnBindings.Stats) {
        queuedEvents = Int(clamping: s.queuedEvents)
        queuedBytes = Int(clamping: s.queuedBytes)
        oldestQueuedAgeMs = s.oldestQueuedAgeMs.map { Int(clamping: $0) }
        memoryEvents = Int(clamping: s.memoryEvents)
        inFlightEvents = Int(clamping: s.inFlightEvents)
        deliveredEvents = Int(clamping: s.deliveredEvents)
        requests = Int(clamping: s.requests)
        retries = Int(clamping: s.retries)
        nextRetryInMs = s.nextRetryInMs.map { Int(clamping: $0) }
        lastError = s.lastError
        lastRejection = s.lastRejection
        authFailed = s.authFailed
        storageError = s.storageError
        let d = s.dropped
        dropped = DroppedEvents(
            invalid: Int(clamping: d.invalid), oversize: Int(clamping: d.oversize), overflow: Int(clamping: d.overflow),
            expired: Int(clamping: d.expired), rejected: Int(clamping: d.rejected), consent: Int(clamping: d.consent),
            corrupt: Int(clamping: d.corrupt)
        )
    }
}
