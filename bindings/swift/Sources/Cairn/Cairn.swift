// The facade: an idiomatic Swift client over the generated `CairnClient`.
// It decides only the Swift side of each call (dictionaries and Encodable
// values to JSON text, TimeInterval to milliseconds, generated types to
// Swift structs, errors to `CairnError`) and keeps no state of its own:
// every rule lives in the Rust core.

import CairnBindings
import Foundation
#if canImport(UIKit)
import UIKit
#endif

/// A cairn client: records analytics events into an on-disk buffer and
/// delivers them in the background to a Segment-compatible `/v1/batch` endpoint.
///
/// Recording calls (`track`, `identify`, `screen`...) return in microseconds
/// and are safe on the main thread: they validate, hand the event to the
/// core's worker thread and never wait on disk or network. `flush`,
/// `shutdown`, `forget` and `commit` wait up to their timeout: call them off
/// the main thread. One instance per buffer file; share it across threads.
///
/// ```swift
/// let cairn = try Cairn(config: CairnConfig(writeKey: "WRITE_KEY", endpoint: "https://api.segment.io"))
/// try cairn.track("Order Completed", properties: ["order_id": "o-1", "total": 42.5])
/// ```
public final class Cairn: @unchecked Sendable {
    // Immutable after init; the generated client is safe to call from any thread.
    private let client: CairnClient
    private var backgroundObserver: NSObjectProtocol?

    /// Starts delivery; the core's worker opens the buffer file in the
    /// background (no disk work on this thread). Throws `CairnError.invalidConfig` naming a bad
    /// option, `.storageInUse` when another client uses the file.
    public init(config: CairnConfig) throws {
        let context = config.platformContext ? PlatformContext.merge(PlatformContext.current(), config.context) : config.context
        let contextJSON: String
        do {
            contextJSON = try JSONText.encode("context", context)
        } catch let failure as JSONEncodingFailure {
            throw CairnError.invalidConfig("invalid config `context`: \(failure.message)")
        }
        let generated = try config.generated(contextJSON: contextJSON.isEmpty ? nil : contextJSON)
        client = try ffiCall { try CairnClient(config: generated) }
        #if canImport(UIKit) && !os(watchOS)
        if config.flushOnBackground {
            backgroundObserver = NotificationCenter.default.addObserver(
                forName: UIApplication.didEnterBackgroundNotification, object: nil, queue: nil
            ) { [weak self] _ in
                guard let self = self else { return }
                DispatchQueue.global(qos: .utility).async { _ = try? self.flush(timeout: 5) }
            }
        }
        #endif
    }

    deinit {
        if let observer = backgroundObserver { NotificationCenter.default.removeObserver(observer) }
    }

    // MARK: Recording calls

    /// Records that the user did `event`, with `properties`.
    public func track(_ event: String, properties: [String: Any] = [:]) throws {
        let json = try encode("properties", properties)
        try ffiCall { try client.track(event: event, propertiesJson: json) }
    }

    /// Records that the user did `event`, with properties from an Encodable value (a struct).
    public func track<P: Encodable>(_ event: String, properties: P) throws {
        let json = try encode("properties", encodable: properties)
        try ffiCall { try client.track(event: event, propertiesJson: json) }
    }

    /// Says who the user is; later events carry `userId`, and `traits` are merged into the stored traits.
    public func identify(_ userId: String, traits: [String: Any] = [:]) throws {
        let json = try encode("traits", traits)
        try ffiCall { try client.identify(userId: userId, traitsJson: json) }
    }

    /// Says who the user is, with traits from an Encodable value.
    public func identify<T: Encodable>(_ userId: String, traits: T) throws {
        let json = try encode("traits", encodable: traits)
        try ffiCall { try client.identify(userId: userId, traitsJson: json) }
    }

    /// Links the current user (or anonymous id) to `newId`, which becomes the user id.
    public func alias(_ newId: String) throws {
        try ffiCall { try client.alias(newId: newId) }
    }

    /// Says the user belongs to `groupId`, with the group's `traits`.
    public func group(_ groupId: String, traits: [String: Any] = [:]) throws {
        let json = try encode("traits", traits)
        try ffiCall { try client.group(groupId: groupId, traitsJson: json) }
    }

    /// Records that the screen `name` was viewed.
    public func screen(_ name: String, properties: [String: Any] = [:]) throws {
        let json = try encode("properties", properties)
        try ffiCall { try client.screen(name: name, propertiesJson: json) }
    }

    /// Records that the screen `name` was viewed, with properties from an Encodable value.
    public func screen<P: Encodable>(_ name: String, properties: P) throws {
        let json = try encode("properties", encodable: properties)
        try ffiCall { try client.screen(name: name, propertiesJson: json) }
    }

    /// Records that the web page `name` was viewed (the name may be empty).
    public func page(_ name: String, properties: [String: Any] = [:]) throws {
        let json = try encode("properties", properties)
        try ffiCall { try client.page(name: name, propertiesJson: json) }
    }

    /// Forgets the user on this device: clears user id, traits and group, and makes a new anonymous id.
    public func reset() throws {
        try ffiCall { try client.reset() }
    }

    /// Replaces the anonymous id (for example with one a web view set).
    public func setAnonymousId(_ anonymousId: String) throws {
        try ffiCall { try client.setAnonymousId(anonymousId: anonymousId) }
    }

    /// Merges `context` into the context of every later event; an NSNull value removes a key.
    public func setContext(_ context: [String: Any]) throws {
        let json = try encode("context", context, isEvent: false)
        try ffiCall { try client.setContext(contextJson: json.isEmpty ? "{}" : json) }
    }

    /// Replaces the tracking plan (JSON text) for every later call; throws `invalidConfig` naming where it is wrong.
    public func setTrackingPlan(_ planJson: String) throws {
        try ffiCall { try client.setTrackingPlan(planJson: planJson) }
    }

    /// Removes the tracking plan: later calls are not checked.
    public func removeTrackingPlan() throws {
        try ffiCall { try client.removeTrackingPlan() }
    }

    /// Records the user's decision for one consent `category`.
    public func setConsent(_ category: String, _ state: ConsentState) throws {
        try ffiCall { try client.setConsent(category: category, state: state.generated) }
    }

    /// `true`: nothing is stored or sent from now on and the buffer is purged (it persists); `false` resumes.
    public func optOut(_ optedOut: Bool = true) throws {
        try ffiCall { try client.optOut(optedOut: optedOut) }
    }

    // MARK: Calls that wait (not on the main thread)

    /// Erases the user from this device and returns the ids erased.
    @discardableResult
    public func forget(timeout: TimeInterval = 10) throws -> Forgotten {
        try ffiCall { Forgotten(try client.forget(timeoutMs: timeoutMillis(timeout))) }
    }

    /// Waits until every earlier call is in the buffer file; false if the disk fails and events wait in memory.
    @discardableResult
    public func commit(timeout: TimeInterval = 5) throws -> Bool {
        try ffiCall { try client.commit(timeoutMs: timeoutMillis(timeout)) }
    }

    /// Sends what is queued and waits up to `timeout` seconds for delivery; what is left goes out later.
    @discardableResult
    public func flush(timeout: TimeInterval = 5) throws -> FlushReport {
        try ffiCall { FlushReport(try client.flush(timeoutMs: timeoutMillis(timeout))) }
    }

    /// Flushes for up to `timeout` seconds, then stops; later calls throw `.shutDown`.
    /// Undelivered events stay on disk for the next client on this file.
    @discardableResult
    public func shutdown(timeout: TimeInterval = 5) throws -> FlushReport {
        try ffiCall { FlushReport(try client.shutdown(timeoutMs: timeoutMillis(timeout))) }
    }

    // MARK: State, without touching disk

    /// The queue, delivery progress and drops by reason.
    public func stats() -> CairnStats {
        CairnStats(client.stats())
    }

    /// The anonymous id in force.
    public var anonymousId: String { client.anonymousId() }

    /// The user id in force, or nil before `identify`.
    public var userId: String? { client.userId() }

    /// The version of the cairn core inside the native library.
    public static var coreVersion: String { cairnVersion() }

    // A recording call refused here never reaches the core, so the core is
    // told, and stats() counts it as `invalid` like the ones the core refuses
    // itself (as the Kotlin and Python facades do). Context is not an event.
    private func encode(_ root: String, _ object: [String: Any], isEvent: Bool = true) throws -> String {
        do {
            return try JSONText.encode(root, object)
        } catch let failure as JSONEncodingFailure {
            if isEvent { client.countInvalidCall() }
            throw CairnError.invalidEvent("invalid event: \(failure.message)")
        }
    }

    private func encode<T: Encodable>(_ root: String, encodable value: T) throws -> String {
        do {
            return try JSONText.encode(root, encodable: value)
        } catch let failure as JSONEncodingFailure {
            client.countInvalidCall()
            throw CairnError.invalidEvent("invalid event: \(failure.message)")
        }
    }
}
