// The plain values the facade returns (stats, flush reports, what forget
// erased) as Kotlin data classes with signed numbers, converted once from
// the generated records; and the generated enum the facade re-exports.
package dev.cairn

/** The user's decision for one consent category: `GRANTED`, `DENIED` or `UNKNOWN`. */
typealias ConsentState = dev.cairn.ffi.ConsentState

/** What a [Cairn.flush] or [Cairn.shutdown] achieved before it returned. */
data class FlushReport(
    /** Events the backend acknowledged while the call waited. */
    val delivered: Long,
    /** Events still queued when it returned; they stay on disk and go out later. */
    val remaining: Long,
)

/** What [Cairn.forget] erased, so the app can ask the backend to delete the same user. */
data class Forgotten(
    /** Every anonymous id the erased events and identity carried. */
    val anonymousIds: List<String>,
    /** Every user id they carried. */
    val userIds: List<String>,
    /** Events removed from the buffer and from memory. */
    val eventsErased: Long,
)

/** Dropped events by reason, over the life of the buffer file. */
data class DroppedEvents(
    /** Invalid calls (empty name, properties that are not an object...). */
    val invalid: Long,
    /** Events over `maxEventBytes`, or refused alone by the server with 413. */
    val oversize: Long,
    /** The oldest events, dropped when the buffer was over its caps. */
    val overflow: Long,
    /** Events older than `maxEventAge` before they could be sent. */
    val expired: Long,
    /** Events the server refused for good. */
    val rejected: Long,
    /** Events dropped by denied or revoked consent, opt-out or forget. */
    val consent: Long,
    /** Events lost to a corrupt buffer file (moved aside for inspection). */
    val corrupt: Long,
    /** Events dropped by the tracking plan (`drop` policy, `unplanned: drop`, or refused in strict mode). */
    val planViolation: Long = 0,
) {
    /** All drops together. */
    val total: Long get() = invalid + oversize + overflow + expired + rejected + consent + corrupt + planViolation
}

/** How many times one event broke one rule of the tracking plan. */
data class ViolationCount(val event: String, val rule: String, val count: Long)

/** One recent violation of the tracking plan: where ([path], e.g. `properties.price`) and what. */
data class RecentViolation(val event: String, val rule: String, val path: String, val message: String)

/** A snapshot of the queue, delivery and drops; taking it never touches disk. */
data class CairnStats(
    /** Events in the buffer file, not yet delivered (in flight included). */
    val queuedEvents: Long,
    /** Their size in bytes (JSON, uncompressed). */
    val queuedBytes: Long,
    /** Age of the oldest queued event in milliseconds, or null when none is queued. */
    val oldestQueuedAgeMs: Long?,
    /** Events held in memory because the disk is failing (not yet durable). */
    val memoryEvents: Long,
    /** Events in the upload now on the wire. */
    val inFlightEvents: Long,
    /** Events the backend acknowledged since this client started. */
    val deliveredEvents: Long,
    /** Upload requests made since this client started. */
    val requests: Long,
    /** Failed attempts scheduled for retry since this client started. */
    val retries: Long,
    /** Milliseconds until the next retry, while one is scheduled. */
    val nextRetryInMs: Long?,
    /** The last delivery or storage error, if any. */
    val lastError: String?,
    /** The last permanent refusal by the server (status and start of body). */
    val lastRejection: String?,
    /** True once the server answered 401/403: uploads stop, events are kept. */
    val authFailed: Boolean,
    /** Null while the buffer file works; what failed while writes fail. */
    val storageError: String?,
    /** Dropped events by reason. */
    val dropped: DroppedEvents,
    /** Tracking-plan violations per event and rule, over the life of the buffer file. */
    val planViolations: List<ViolationCount> = emptyList(),
    /** The latest tracking-plan violations (at most 10), oldest first. */
    val recentViolations: List<RecentViolation> = emptyList(),
    /** How long `track`-like calls waited for room in the queue. */
    val waitedForRoom: RoomWaits = RoomWaits(0, 0, 0),
    /**
     * Each destination, when the client has more than one or its one destination has routing (its
     * `skippedEvents` then counts what the routing passed over); empty with one that takes every event:
     * the fields above are then that destination's. The fields above add up every destination: queued counts the buffer file,
     * delivered and requests sum over destinations, and a drop counts once for each destination that dropped it.
     */
    val destinations: List<DestinationStats> = emptyList(),
)

/** How long event calls waited for room in the queue (a full queue means the disk is behind). */
data class RoomWaits(
    /** Event calls that found the queue full and waited. */
    val calls: Long,
    /** Their waits added up, in microseconds. */
    val totalUs: Long,
    /** The longest single wait, in microseconds. */
    val longestUs: Long,
)

/** One destination's part of [CairnStats], when a client has several, or one whose routing passes events over. */
data class DestinationStats(
    /** The destination's name (`default` for the config's own endpoint). */
    val name: String,
    /** Events in the buffer past its cursor: not yet delivered, dropped or passed over by its routing. */
    val queuedEvents: Long,
    /** Their size in bytes. */
    val queuedBytes: Long,
    /** Events in its upload now on the wire. */
    val inFlightEvents: Long,
    /** Events it acknowledged since this client started. */
    val deliveredEvents: Long,
    /** Events its routing passed over (not for it) since this client started. */
    val skippedEvents: Long,
    /** Upload requests made to it since this client started. */
    val requests: Long,
    /** Its failed attempts scheduled for retry since this client started. */
    val retries: Long,
    /** Milliseconds until its next retry, while one is scheduled. */
    val nextRetryInMs: Long?,
    /** Its last delivery error, if any. */
    val lastError: String?,
    /** Its last permanent refusal. */
    val lastRejection: String?,
    /** True once it answered 401/403: uploads to it stop, events are kept. */
    val authFailed: Boolean,
    /** Its events dropped, by reason, over the life of the buffer file. */
    val dropped: DroppedEvents,
)

internal fun dev.cairn.ffi.FlushReport.toFacade() = FlushReport(delivered.toLong(), remaining.toLong())

internal fun dev.cairn.ffi.Forgotten.toFacade() = Forgotten(anonymousIds, userIds, eventsErased.toLong())

internal fun dev.cairn.ffi.Stats.toFacade() = CairnStats(
    queuedEvents = queuedEvents.toLong(),
    queuedBytes = queuedBytes.toLong(),
    oldestQueuedAgeMs = oldestQueuedAgeMs?.toLong(),
    memoryEvents = memoryEvents.toLong(),
    inFlightEvents = inFlightEvents.toLong(),
    deliveredEvents = deliveredEvents.toLong(),
    requests = requests.toLong(),
    retries = retries.toLong(),
    nextRetryInMs = nextRetryInMs?.toLong(),
    lastError = lastError,
    lastRejection = lastRejection,
    authFailed = authFailed,
    storageError = storageError,
    dropped = dropped.toFacade(),
    planViolations = planViolations.map { ViolationCount(it.event, it.rule, it.count.toLong()) },
    recentViolations = recentViolations.map { RecentViolation(it.event, it.rule, it.path, it.message) },
    waitedForRoom = RoomWaits(waitedForRoom.calls.toLong(), waitedForRoom.totalUs.toLong(), waitedForRoom.longestUs.toLong()),
    destinations = destinations.map {
        DestinationStats(
            name = it.name,
            queuedEvents = it.queuedEvents.toLong(),
            queuedBytes = it.queuedBytes.toLong(),
            inFlightEvents = it.inFlightEvents.toLong(),
            deliveredEvents = it.deliveredEvents.toLong(),
            skippedEvents = it.skippedEvents.toLong(),
            requests = it.requests.toLong(),
            retries = it.retries.toLong(),
            nextRetryInMs = it.nextRetryInMs?.toLong(),
            lastError = it.lastError,
            lastRejection = it.lastRejection,
            authFailed = it.authFailed,
            dropped = it.dropped.toFacade(),
        )
    },
)

internal fun dev.cairn.ffi.DropCounts.toFacade() = DroppedEvents(
    invalid = invalid.toLong(),
    oversize = oversize.toLong(),
    overflow = overflow.toLong(),
    expired = expired.toLong(),
    rejected = rejected.toLong(),
    consent = consent.toLong(),
    corrupt = corrupt.toLong(),
    planViolation = planViolation.toLong(),
)
