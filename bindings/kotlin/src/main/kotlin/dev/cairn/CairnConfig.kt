// Decides the Kotlin shape of the configuration: a builder with one method
// per core option, in Kotlin types (Int, Long, Duration, Map). Values the
// facade cannot pass on (a negative count or duration) are refused here,
// naming the option; everything else is checked by the core, whose defaults
// apply to every option left unset.
package dev.cairn

import java.io.File
import kotlin.time.Duration

/**
 * Settings for a [Cairn] client. Create with [CairnConfig.builder] (or
 * `CairnConfig.Builder(writeKey)`); only `endpoint` is required.
 */
class CairnConfig private constructor(b: Builder) {
    /** The write key of your Segment/RudderStack source. */
    val writeKey: String = b.writeKey
    /** The backend's base URL; events go to `{endpoint}/v1/batch`. Required: [Cairn] says so if it is missing. */
    val endpoint: String? = b.endpoint
    /** The backend's format; null is Segment (also RudderStack). See docs/destinations.md. */
    val destination: Destination? = b.destination
    /** The buffer file, or null for the core's default (`cairn.db` in the working directory). */
    val storagePath: String? = b.storagePath
    /** Options left unset are null and take the core's default. */
    val flushAt: Int? = b.flushAt
    val flushInterval: Duration? = b.flushInterval
    val maxBatchEvents: Int? = b.maxBatchEvents
    val maxBatchBytes: Long? = b.maxBatchBytes
    val maxEventBytes: Long? = b.maxEventBytes
    val requestTimeout: Duration? = b.requestTimeout
    val gzip: Boolean? = b.gzip
    val retryBaseDelay: Duration? = b.retryBaseDelay
    val maxRetryDelay: Duration? = b.maxRetryDelay
    val maxQueueEvents: Long? = b.maxQueueEvents
    val maxQueueBytes: Long? = b.maxQueueBytes
    val maxEventAge: Duration? = b.maxEventAge
    val maxPendingCalls: Int? = b.maxPendingCalls
    val recordWait: Duration? = b.recordWait
    val sessionTimeout: Duration? = b.sessionTimeout
    val sessionEvents: Boolean? = b.sessionEvents
    val resetOnUserSwitch: Boolean? = b.resetOnUserSwitch
    /** Consent categories and their state before the user decides. */
    val consent: Map<String, ConsentState> = b.consent.toMap()
    /** Categories that must be granted before any event is stored or sent. */
    val requiredConsent: List<String> = b.requiredConsent.toList()
    /** Context every event carries; the platform context is merged beneath it. */
    val context: Map<String, Any?> = b.context.toMap()
    /** The anonymous id to use on first start instead of a new UUID. */
    val anonymousId: String? = b.anonymousId
    /** Whether [Cairn] fills `context` from the platform (os, locale, timezone; on Android app, device, screen). */
    val platformContext: Boolean = b.platformContext
    /** The tracking plan (JSON text) every call is checked against, or null for none. */
    val trackingPlan: String? = b.trackingPlan
    /** Strict mode: a call that breaks the plan throws [CairnException.PlanViolation]; null for the core's default (off). */
    val strictTrackingPlan: Boolean? = b.strictTrackingPlan
    /** More destinations besides [endpoint] (which is named `default`); empty for one. See docs/destinations.md. */
    val destinations: List<DestinationConfig> = b.destinations.toList()
    /** Routing of the own destination ([endpoint], named `default`): the event names it takes (exact, or a prefix ending in `*`); empty: every name. */
    val allowEvents: List<String> = b.allowEvents.toList()
    /** Routing of the own destination: the event names it never takes. */
    val denyEvents: List<String> = b.denyEvents.toList()
    /** Routing of the own destination: the call types it takes; empty: every type. */
    val callTypes: List<String> = b.callTypes.toList()
    /** Routing of the own destination: the consent categories that must all have been granted when an event was recorded. */
    val consentCategories: List<String> = b.consentCategories.toList()

    companion object {
        /** Starts a configuration for the source with [writeKey]. */
        @JvmStatic
        fun builder(writeKey: String): Builder = Builder(writeKey)
    }

    /** A copy with the buffer file set, for platform helpers that know where it belongs. */
    internal fun withDefaultStoragePath(path: String): CairnConfig =
        if (storagePath != null) this else toBuilder().storagePath(path).build()

    /** A builder holding every setting of this configuration. */
    fun toBuilder(): Builder = Builder(writeKey).also { n ->
        n.endpoint = endpoint
        n.destination = destination
        n.storagePath = storagePath
        n.flushAt = flushAt; n.flushInterval = flushInterval
        n.maxBatchEvents = maxBatchEvents; n.maxBatchBytes = maxBatchBytes; n.maxEventBytes = maxEventBytes
        n.requestTimeout = requestTimeout; n.gzip = gzip
        n.retryBaseDelay = retryBaseDelay; n.maxRetryDelay = maxRetryDelay
        n.maxQueueEvents = maxQueueEvents; n.maxQueueBytes = maxQueueBytes; n.maxEventAge = maxEventAge
        n.maxPendingCalls = maxPendingCalls; n.recordWait = recordWait
        n.sessionTimeout = sessionTimeout; n.sessionEvents = sessionEvents; n.resetOnUserSwitch = resetOnUserSwitch
        n.consent.putAll(consent); n.requiredConsent.addAll(requiredConsent); n.context.putAll(context)
        n.anonymousId = anonymousId; n.platformContext = platformContext
        n.trackingPlan = trackingPlan; n.strictTrackingPlan = strictTrackingPlan
        n.destinations.addAll(destinations)
        n.allowEvents.addAll(allowEvents); n.denyEvents.addAll(denyEvents)
        n.callTypes.addAll(callTypes); n.consentCategories.addAll(consentCategories)
    }

    /** Collects settings; each method returns the builder. See docs/configuration.md for defaults. */
    class Builder(internal val writeKey: String) {
        internal var endpoint: String? = null
        internal var destination: Destination? = null
        internal var storagePath: String? = null
        internal var flushAt: Int? = null
        internal var flushInterval: Duration? = null
        internal var maxBatchEvents: Int? = null
        internal var maxBatchBytes: Long? = null
        internal var maxEventBytes: Long? = null
        internal var requestTimeout: Duration? = null
        internal var gzip: Boolean? = null
        internal var retryBaseDelay: Duration? = null
        internal var maxRetryDelay: Duration? = null
        internal var maxQueueEvents: Long? = null
        internal var maxQueueBytes: Long? = null
        internal var maxEventAge: Duration? = null
        internal var maxPendingCalls: Int? = null
        internal var recordWait: Duration? = null
        internal var sessionTimeout: Duration? = null
        internal var sessionEvents: Boolean? = null
        internal var resetOnUserSwitch: Boolean? = null
        internal val consent = LinkedHashMap<String, ConsentState>()
        internal val requiredConsent = ArrayList<String>()
        internal val context = LinkedHashMap<String, Any?>()
        internal var anonymousId: String? = null
        internal var platformContext = true
        internal var trackingPlan: String? = null
        internal var strictTrackingPlan: Boolean? = null
        internal val destinations = ArrayList<DestinationConfig>()
        internal val allowEvents = ArrayList<String>()
        internal val denyEvents = ArrayList<String>()
        internal val callTypes = ArrayList<String>()
        internal val consentCategories = ArrayList<String>()

        /** The backend's base URL (required), e.g. `https://api.segment.io`. */
        fun endpoint(url: String) = apply { endpoint = url }
        /**
         * The backend's format: [Destination.Segment] (the default; also RudderStack),
         * [Destination.Amplitude] or [Destination.PostHog]. With Amplitude or PostHog the
         * key given to [builder] is that project's API key.
         */
        fun destination(kind: Destination) = apply { destination = kind }
        /** The SQLite file that buffers events. On Android, leave it unset: the app's no-backup files directory is used. */
        fun storagePath(path: String) = apply { storagePath = path }
        /** The SQLite file that buffers events. */
        fun storagePath(file: File) = apply { storagePath = file.path }
        /** Send a batch as soon as this many events are queued. */
        fun flushAt(events: Int) = apply { flushAt = events }
        /** Send queued events at the latest this long after the first arrived. */
        fun flushInterval(interval: Duration) = apply { flushInterval = interval }
        /** Most events in one upload. */
        fun maxBatchEvents(events: Int) = apply { maxBatchEvents = events }
        /** Most bytes in one upload, before compression. */
        fun maxBatchBytes(bytes: Long) = apply { maxBatchBytes = bytes }
        /** Largest single event once encoded. */
        fun maxEventBytes(bytes: Long) = apply { maxEventBytes = bytes }
        /** Time limit of one HTTP request. */
        fun requestTimeout(timeout: Duration) = apply { requestTimeout = timeout }
        /** Compress upload bodies with gzip. */
        fun gzip(on: Boolean) = apply { gzip = on }
        /** Window of the first retry; it doubles with each failure. */
        fun retryBaseDelay(delay: Duration) = apply { retryBaseDelay = delay }
        /** Longest wait between retries. */
        fun maxRetryDelay(delay: Duration) = apply { maxRetryDelay = delay }
        /** Most events kept in the buffer (the oldest go first). */
        fun maxQueueEvents(events: Long) = apply { maxQueueEvents = events }
        /** Most bytes kept in the buffer. */
        fun maxQueueBytes(bytes: Long) = apply { maxQueueBytes = bytes }
        /** Oldest an event may be and still be sent. */
        fun maxEventAge(age: Duration) = apply { maxEventAge = age }
        /** Calls that may wait for the worker before a recording call waits for room. */
        fun maxPendingCalls(calls: Int) = apply { maxPendingCalls = calls }
        /**
         * Longest `track`, `screen`, `page` or `enqueue` waits for room when the disk is behind
         * (default 5 ms); then the event is held in memory, or dropped as `overflow` past that
         * bound. `Duration.ZERO` never waits: for the main thread.
         */
        fun recordWait(wait: Duration) = apply { recordWait = wait }
        /** A session ends after this long without events. */
        fun sessionTimeout(timeout: Duration) = apply { sessionTimeout = timeout }
        /** Record `Session Started` / `Session Ended` events. */
        fun sessionEvents(on: Boolean) = apply { sessionEvents = on }
        /** Whether `identify` with a different user id first resets the identity. */
        fun resetOnUserSwitch(on: Boolean) = apply { resetOnUserSwitch = on }
        /** Declares a consent category and its state before the user decides. */
        fun consent(category: String, initial: ConsentState) = apply { consent[category] = initial }
        /** The categories that must be granted before any event is stored or sent. */
        fun requiredConsent(vararg categories: String) = apply { requiredConsent.clear(); requiredConsent.addAll(categories) }
        /** Context every event carries, e.g. `mapOf("app" to mapOf("version" to "2.1"))`; merged over the platform context. */
        fun context(context: Map<String, Any?>) = apply { this.context.putAll(context) }
        /** The anonymous id to use on first start instead of a new UUID. */
        fun anonymousId(id: String) = apply { anonymousId = id }
        /** Fill `context` from the platform (default true). */
        fun platformContext(on: Boolean) = apply { platformContext = on }
        /** The tracking plan every call is checked against, as its JSON text (docs/tracking-plans.md); a plan that does not load fails [Cairn]'s creation, naming where. */
        fun trackingPlan(planJson: String) = apply { trackingPlan = planJson }
        /** The tracking plan read from [file]. */
        fun trackingPlan(file: File) = apply { trackingPlan = file.readText() }
        /** Strict mode (debug builds, tests): a call that breaks the plan throws [CairnException.PlanViolation] and records nothing. */
        fun strictTrackingPlan(on: Boolean) = apply { strictTrackingPlan = on }
        /**
         * Delivers to one more destination besides [endpoint] (up to 8 in all), from the same buffer:
         * each has its own cursor, batches, retries and routing, so a slow one never holds back another.
         * The core checks it when [Cairn] is created (a unique name other than `default`, the URL, the key,
         * the call types), naming the destination that is wrong.
         */
        fun addDestination(destination: DestinationConfig) = apply { destinations.add(destination) }
        /**
         * Routing of the own destination ([endpoint], named `default`), as [DestinationConfig.allowEvents]:
         * it takes only events whose name is one of [names] (exact, or a prefix ending in `*`, as in
         * `"Order *"`); calls without a name (identify, group, alias) are not concerned. None: every name.
         * The events it passes over show as `skippedEvents` in [Cairn.stats]'s `destinations`.
         */
        fun allowEvents(vararg names: String) = apply { allowEvents.clear(); allowEvents.addAll(names) }
        /** Routing of the own destination: it never takes events whose name is one of [names] (exact, or a prefix ending in `*`). */
        fun denyEvents(vararg names: String) = apply { denyEvents.clear(); denyEvents.addAll(names) }
        /** Routing of the own destination: it takes only these call types (`track`, `identify`, `alias`, `group`, `screen`, `page`). */
        fun callTypes(vararg types: String) = apply { callTypes.clear(); callTypes.addAll(types) }
        /**
         * Routing of the own destination: it takes an event only when every one of [categories] was granted
         * when the event was recorded; revoking one purges its queued events (not the other destinations').
         */
        fun consentCategories(vararg categories: String) = apply { consentCategories.clear(); consentCategories.addAll(categories) }

        /** Checks what the facade must convert and returns the configuration; the core checks the rest when [Cairn] is created. */
        fun build(): CairnConfig {
            nonNegative("flushAt", flushAt?.toLong())
            nonNegative("maxBatchEvents", maxBatchEvents?.toLong())
            nonNegative("maxBatchBytes", maxBatchBytes)
            nonNegative("maxEventBytes", maxEventBytes)
            nonNegative("maxQueueEvents", maxQueueEvents)
            nonNegative("maxQueueBytes", maxQueueBytes)
            nonNegative("maxPendingCalls", maxPendingCalls?.toLong())
            for (d in destinations) nonNegative("destinations.${d.name}.maxBatchEvents", d.maxBatchEvents?.toLong())
            for ((name, d) in listOf(
                "flushInterval" to flushInterval, "requestTimeout" to requestTimeout,
                "retryBaseDelay" to retryBaseDelay, "maxRetryDelay" to maxRetryDelay,
                "maxEventAge" to maxEventAge, "sessionTimeout" to sessionTimeout, "recordWait" to recordWait,
            )) {
                if (d != null && d.isNegative()) invalid(name, "must not be negative, got $d")
            }
            return CairnConfig(this)
        }

        private fun nonNegative(name: String, v: Long?) {
            if (v != null && v < 0) invalid(name, "must not be negative, got $v")
        }

        private fun invalid(name: String, reason: String): Nothing =
            throw CairnException.InvalidConfig("invalid config `$name`: $reason")
    }
}

/** Milliseconds for the FFI; an infinite duration becomes the longest the FFI takes. */
internal fun Duration.toMillisForFfi(): ULong = inWholeMilliseconds.coerceAtLeast(0).toULong()

internal fun CairnConfig.toFfi(contextJson: String?): dev.cairn.ffi.CairnConfig = dev.cairn.ffi.CairnConfig(
    writeKey = writeKey,
    endpoint = endpoint,
    destination = destination?.toFfi(),
    storagePath = storagePath,
    flushAt = flushAt?.toUInt(),
    flushIntervalMs = flushInterval?.toMillisForFfi(),
    maxBatchEvents = maxBatchEvents?.toUInt(),
    maxBatchBytes = maxBatchBytes?.toULong(),
    maxEventBytes = maxEventBytes?.toULong(),
    requestTimeoutMs = requestTimeout?.toMillisForFfi(),
    gzip = gzip,
    retryBaseDelayMs = retryBaseDelay?.toMillisForFfi(),
    maxRetryDelayMs = maxRetryDelay?.toMillisForFfi(),
    maxQueueEvents = maxQueueEvents?.toULong(),
    maxQueueBytes = maxQueueBytes?.toULong(),
    maxEventAgeMs = maxEventAge?.toMillisForFfi(),
    maxPendingCalls = maxPendingCalls?.toUInt(),
    recordWaitMs = recordWait?.toMillisForFfi(),
    sessionTimeoutMs = sessionTimeout?.toMillisForFfi(),
    sessionEvents = sessionEvents,
    resetOnUserSwitch = resetOnUserSwitch,
    consent = consent,
    requiredConsent = requiredConsent,
    contextJson = contextJson,
    anonymousId = anonymousId,
    trackingPlanJson = trackingPlan,
    strictTrackingPlan = strictTrackingPlan,
    destinations = destinations.map { it.toFfi() },
    allowEvents = allowEvents,
    denyEvents = denyEvents,
    callTypes = callTypes,
    consentCategories = consentCategories,
)

/**
 * One more place a [Cairn] client delivers to, besides its `endpoint`: for example Amplitude for
 * order events next to Segment for everything.
 *
 * ```kotlin
 * CairnConfig.builder("SEGMENT_WRITE_KEY")
 *     .endpoint("https://api.segment.io")
 *     .addDestination(DestinationConfig(
 *         name = "amplitude", kind = Destination.Amplitude(),
 *         endpoint = "https://api2.amplitude.com", key = "AMPLITUDE_API_KEY",
 *         allowEvents = listOf("Order *", "Signed Up"), consentCategories = listOf("analytics"),
 *     ))
 *     .build()
 * ```
 */
data class DestinationConfig(
    /** The name its delivery progress is kept under in the buffer file: keep it stable across releases; not `default`. */
    val name: String,
    /** The backend format it speaks. */
    val kind: Destination,
    /** Its base URL, `http://` or `https://`. */
    val endpoint: String,
    /** Write key (Segment) or project API key (Amplitude, PostHog). */
    val key: String,
    /** Takes only events whose name is one of these (exact, or a prefix ending in `*`); empty: every name. Calls without a name (identify, group, alias) are not concerned. */
    val allowEvents: List<String> = emptyList(),
    /** Never takes events whose name is one of these (exact, or a prefix ending in `*`). */
    val denyEvents: List<String> = emptyList(),
    /** Takes only these call types (`track`, `identify`, `alias`, `group`, `screen`, `page`); empty: every type. */
    val callTypes: List<String> = emptyList(),
    /** Takes an event only when every one of these consent categories was granted when it was recorded; revoking one purges this destination's queued events. */
    val consentCategories: List<String> = emptyList(),
    /** Most events in one of its batches; null: the client's `maxBatchEvents`. */
    val maxBatchEvents: Int? = null,
) {
    /** Without [key]: a logged configuration must not leak it. */
    override fun toString(): String = "DestinationConfig(name=$name, kind=$kind, endpoint=$endpoint)"

    internal fun toFfi() = dev.cairn.ffi.DestinationConfig(
        name = name,
        kind = kind.toFfi(),
        endpoint = endpoint,
        key = key,
        allowEvents = allowEvents,
        denyEvents = denyEvents,
        callTypes = callTypes,
        consentCategories = consentCategories,
        maxBatchEvents = maxBatchEvents?.toUInt(),
    )
}

/** Where a [Cairn] client delivers: the backend's wire format (docs/destinations.md). */
sealed class Destination {
    /** Segment or RudderStack `POST /v1/batch`, Basic auth with the write key. */
    object Segment : Destination()
    /**
     * Amplitude HTTP V2 `POST /2/httpapi`, or the Batch API `POST /batch` with [batchApi];
     * [minIdLength] is Amplitude's `options.min_id_length` (null keeps Amplitude's 5).
     */
    data class Amplitude(val batchApi: Boolean = false, val minIdLength: Int? = null) : Destination()
    /** PostHog `POST /batch/`, the project API key in the body. */
    object PostHog : Destination()

    internal fun toFfi(): dev.cairn.ffi.DestinationKind = when (this) {
        Segment -> dev.cairn.ffi.DestinationKind.Segment
        is Amplitude -> {
            if (minIdLength != null && minIdLength < 0) {
                throw CairnException.InvalidConfig("invalid config `destination`: minIdLength must not be negative, got $minIdLength")
            }
            dev.cairn.ffi.DestinationKind.Amplitude(batchApi, minIdLength?.toUInt())
        }
        PostHog -> dev.cairn.ffi.DestinationKind.PostHog
    }
}
