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
    /// The call breaks the tracking plan and strict mode is on; the message lists each violation with its path. Nothing was recorded.
    case planViolation(String)
    /// Something cairn did not expect (the message says what). Please report it.
    case `internal`(String)

    /// What was wrong and what to do about it.
    public var message: String {
        switch self {
        case .invalidConfig(let m), .invalidEvent(let m), .eventTooLarge(let m), .storage(let m),
             .storageInUse(let m), .timeout(let m), .shutDown(let m), .forked(let m), .planViolation(let m),
             .internal(let m):
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
        case .PlanViolation(let m): return .planViolation(m)
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
    /// Dropped by the tracking plan (`drop` policy, `unplanned: drop`, or strict mode).
    public let planViolation: Int

    /// All drops together.
    public var total: Int { invalid + oversize + overflow + expired + rejected + consent + corrupt + planViolation }
}

/// How many times one event broke one rule of the tracking plan.
public struct ViolationCount: Equatable, Sendable {
    public let event: String
    public let rule: String
    public let count: Int
}

/// One recent violation of the tracking plan: where (`path`, e.g. `properties.price`) and what.
public struct RecentViolation: Equatable, Sendable {
    public let event: String
    public let rule: String
    public let path: String
    public let message: String
}

extension DroppedEvents {
    init(_ d: CairnBindings.DropCounts) {
        self.init(
            invalid: Int(clamping: d.invalid), oversize: Int(clamping: d.oversize), overflow: Int(clamping: d.overflow),
            expired: Int(clamping: d.expired), rejected: Int(clamping: d.rejected), consent: Int(clamping: d.consent),
            corrupt: Int(clamping: d.corrupt), planViolation: Int(clamping: d.planViolation)
        )
    }
}

/// How long event calls waited for room in the queue (a full queue means the disk is behind).
public struct RoomWaits: Equatable, Sendable {
    /// Event calls that found the queue full and waited.
    public let calls: Int
    /// Their waits added up, in microseconds.
    public let totalUs: Int
    /// The longest single wait, in microseconds.
    public let longestUs: Int
}

/// One destination's part of `CairnStats`, when a client has several, or one
/// whose routing passes events over.
public struct DestinationStats: Equatable, Sendable {
    /// The destination's name (`default` for the config's own endpoint).
    public let name: String
    /// Events in the buffer past its cursor: not yet delivered, dropped or passed over by its routing.
    public let queuedEvents: Int
    /// Their size in bytes.
    public let queuedBytes: Int
    /// Events in its upload now on the wire.
    public let inFlightEvents: Int
    /// Events it acknowledged since this client started.
    public let deliveredEvents: Int
    /// Events its routing passed over (not for it) since this client started.
    public let skippedEvents: Int
    /// Upload requests made to it since this client started.
    public let requests: Int
    /// Its failed attempts scheduled for retry since this client started.
    public let retries: Int
    /// Milliseconds until its next retry, while one is scheduled.
    public let nextRetryInMs: Int?
    /// Its last delivery error, if any.
    public let lastError: String?
    /// Its last permanent refusal.
    public let lastRejection: String?
    /// True once it answered 401/403: uploads to it stop, events are kept.
    public let authFailed: Bool
    /// Its events dropped, by reason, over the life of the buffer file.
    public let dropped: DroppedEvents

    init(_ d: CairnBindings.DestinationStats) {
        name = d.name
        queuedEvents = Int(clamping: d.queuedEvents)
        queuedBytes = Int(clamping: d.queuedBytes)
        inFlightEvents = Int(clamping: d.inFlightEvents)
        deliveredEvents = Int(clamping: d.deliveredEvents)
        skippedEvents = Int(clamping: d.skippedEvents)
        requests = Int(clamping: d.requests)
        retries = Int(clamping: d.retries)
        nextRetryInMs = d.nextRetryInMs.map { Int(clamping: $0) }
        lastError = d.lastError
        lastRejection = d.lastRejection
        authFailed = d.authFailed
        dropped = DroppedEvents(d.dropped)
    }
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
    /// Tracking-plan violations per event and rule, over the life of the buffer file.
    public let planViolations: [ViolationCount]
    /// The latest tracking-plan violations (at most 10), oldest first.
    public let recentViolations: [RecentViolation]
    /// How long event calls waited for room in the queue.
    public let waitedForRoom: RoomWaits
    /// Each destination, when the client has more than one or its one
    /// destination has routing (its `skippedEvents` then counts what the
    /// routing passed over); empty with one that takes every event: the
    /// fields above are then that destination's. The fields above add up
    /// every destination: queued counts the buffer file, delivered and
    /// requests sum over destinations, and a drop counts once for each
    /// destination that dropped it.
    public let destinations: [DestinationStats]

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
        dropped = DroppedEvents(s.dropped)
        planViolations = s.planViolations.map { ViolationCount(event: $0.event, rule: $0.rule, count: Int(clamping: $0.count)) }
        recentViolations = s.recentViolations.map { RecentViolation(event: $0.event, rule: $0.rule, path: $0.path, message: $0.message) }
        waitedForRoom = RoomWaits(
            calls: Int(clamping: s.waitedForRoom.calls), totalUs: Int(clamping: s.waitedForRoom.totalUs),
            longestUs: Int(clamping: s.waitedForRoom.longestUs)
        )
        destinations = s.destinations.map { DestinationStats($0) }
    }
}
