// The facade: an idiomatic Kotlin client over the generated `CairnClient`.
// It decides only the Kotlin side of each call (native maps to JSON text,
// Duration to milliseconds, generated records to data classes) and holds
// no state of its own: every rule lives in the Rust core. Recording calls
// take the fast path of RecordCall.kt; everything else the generated layer.
package dev.cairn

import dev.cairn.ffi.CairnClient
import kotlin.time.Duration
import kotlin.time.Duration.Companion.seconds

/**
 * A cairn client: records analytics events into an on-disk buffer and
 * delivers them in the background to a Segment-compatible `/v1/batch` endpoint.
 *
 * Recording calls ([track], [identify], [screen]...) return in microseconds
 * and are safe on the main thread: they validate, hand the event to the
 * core's worker thread and never wait on disk or network. [flush],
 * [shutdown], [forget] and [commit] wait up to their timeout: call them off
 * the main thread. One instance per buffer file; share it across threads.
 *
 * ```
 * val cairn = Cairn(CairnConfig.builder("WRITE_KEY").endpoint("https://api.segment.io").build())
 * cairn.track("Order Completed", mapOf("order_id" to "o-1", "total" to 42.5))
 * ```
 *
 * Every call throws [CairnException] with a message that says what to fix.
 */
class Cairn internal constructor(config: CairnConfig, platform: Map<String, Any?>) : AutoCloseable {
    private val client: CairnClient

    /** This client's handle for the recording fast path ([RecordCall]). */
    private val handle: Long

    /**
     * Starts delivery; the core's worker opens the buffer file in the
     * background (no disk work on this thread). Throws [CairnException.InvalidConfig] naming a
     * bad option, [CairnException.StorageInUse] when another client uses the file.
     */
    constructor(config: CairnConfig) : this(config, if (config.platformContext) PlatformContext.jvm() else emptyMap())

    init {
        val context = if (config.platformContext) PlatformContext.merge(platform, config.context) else config.context
        val contextJson = try {
            JsonText.encode("context", context)
        } catch (e: JsonEncodingException) {
            throw CairnException.InvalidConfig("invalid config `context`: ${e.message}", e)
        }
        client = ffiCall { CairnClient(config.toFfi(contextJson.ifEmpty { null })) }
        handle = ffiCall { client.recordHandle() }.toLong()
    }

    /** Records that the user did [event], with [properties] (JSON-encodable values). */
    fun track(event: String, properties: Map<String, Any?> = emptyMap()) {
        val json = encode("properties", properties)
        RecordCall.record(handle, RecordCall.TRACK, "event name", event, "properties", json, countRefused)
    }

    /** Says who the user is; every later event carries [userId], and [traits] are merged into the stored traits. */
    fun identify(userId: String, traits: Map<String, Any?> = emptyMap()) {
        val json = encode("traits", traits)
        RecordCall.record(handle, RecordCall.IDENTIFY, "user id", userId, "traits", json, countRefused)
    }

    /** Links the current user (or anonymous id) to [newId], which becomes the user id. */
    fun alias(newId: String) = RecordCall.record(handle, RecordCall.ALIAS, "new id", newId, "", "", countRefused)

    /** Says the user belongs to [groupId], with the group's [traits]. */
    fun group(groupId: String, traits: Map<String, Any?> = emptyMap()) {
        val json = encode("traits", traits)
        RecordCall.record(handle, RecordCall.GROUP, "group id", groupId, "traits", json, countRefused)
    }

    /** Records that the screen [name] was viewed. */
    fun screen(name: String, properties: Map<String, Any?> = emptyMap()) {
        val json = encode("properties", properties)
        RecordCall.record(handle, RecordCall.SCREEN, "screen name", name, "properties", json, countRefused)
    }

    /** Records that the web page [name] was viewed (the name may be empty). */
    fun page(name: String, properties: Map<String, Any?> = emptyMap()) {
        val json = encode("properties", properties)
        RecordCall.record(handle, RecordCall.PAGE, "page name", name, "properties", json, countRefused)
    }

    /**
     * Records a complete Segment-spec event as given (its `userId`,
     * `messageId`, `timestamp`, `context` are kept): for JVM services that
     * record on behalf of many users.
     */
    fun enqueue(event: Map<String, Any?>) {
        val json = encode("event", event).ifEmpty { "{}" }
        ffiCall { client.enqueue(json) }
    }

    /** Forgets the user on this device: clears user id, traits and group, and makes a new anonymous id. */
    fun reset() = ffiCall { client.reset() }

    /** Replaces the anonymous id (for example with one the web app set). */
    fun setAnonymousId(anonymousId: String) = ffiCall { client.setAnonymousId(anonymousId) }

    /** Merges [context] into the context of every later event; a null value removes a key. */
    fun setContext(context: Map<String, Any?>) {
        val json = encode("context", context, isEvent = false).ifEmpty { "{}" }
        ffiCall { client.setContext(json) }
    }

    /** Replaces the tracking plan (JSON text) for every later call; throws [CairnException.InvalidConfig] naming where it is wrong (the plan in force stays). */
    fun setTrackingPlan(planJson: String) = ffiCall { client.setTrackingPlan(planJson) }

    /** Removes the tracking plan: later calls are not checked. */
    fun removeTrackingPlan() = ffiCall { client.removeTrackingPlan() }

    /** Records the user's decision for one consent [category]. */
    fun setConsent(category: String, state: ConsentState) = ffiCall { client.setConsent(category, state) }

    /** `true`: nothing is stored or sent from now on and the buffer is purged (it persists); `false` resumes. */
    fun optOut(optedOut: Boolean = true) = ffiCall { client.optOut(optedOut) }

    /** Erases the user from this device and returns the ids erased. Touches disk: not on the main thread. */
    fun forget(timeout: Duration = 10.seconds): Forgotten = ffiCall { client.forget(timeout.toMillisForFfi()).toFacade() }

    /** Waits until every earlier call is in the buffer file; false if the disk is failing and events wait in memory. */
    fun commit(timeout: Duration = 5.seconds): Boolean = ffiCall { client.commit(timeout.toMillisForFfi()) }

    /** Sends what is queued and waits up to [timeout] for delivery; what is left goes out later. Not on the main thread. */
    fun flush(timeout: Duration = 5.seconds): FlushReport = ffiCall { client.flush(timeout.toMillisForFfi()).toFacade() }

    /**
     * Flushes for up to [timeout], then stops delivery; later calls throw
     * [CairnException.ShutDown]. Undelivered events stay on disk for the
     * next client on this file. Not on the main thread.
     */
    fun shutdown(timeout: Duration = 5.seconds): FlushReport = ffiCall { client.shutdown(timeout.toMillisForFfi()).toFacade() }

    /** The queue, delivery progress and drops by reason; never touches disk. */
    fun stats(): CairnStats = ffiCall { client.stats().toFacade() }

    /** The anonymous id in force. */
    val anonymousId: String get() = ffiCall { client.anonymousId() }

    /** The user id in force, or null before [identify]. */
    val userId: String? get() = ffiCall { client.userId() }

    /**
     * Releases the native client: what is pending is committed to disk and
     * delivery stops without waiting (events go out with the next client on
     * this file). Call [shutdown] first to give delivery a chance.
     */
    override fun close() = client.close()

    private fun encode(root: String, map: Map<String, Any?>, isEvent: Boolean = true): String = try {
        JsonText.encode(root, map)
    } catch (e: JsonEncodingException) {
        if (isEvent) countRefused()
        throw CairnException.InvalidEvent("invalid event: ${e.message}", e)
    }

    // Calls refused on this side never reach the core: tell it, so they show
    // in stats() as `invalid` like the ones it refuses itself. Counting must
    // not replace the error the caller gets, so its own failure is ignored.
    private val countRefused: () -> Unit = { runCatching { client.countInvalidCall() } }

    companion object {
        /** The version of the cairn core inside the native library. */
        @JvmStatic
        val coreVersion: String get() = ffiCall { dev.cairn.ffi.cairnVersion() }
    }
}
