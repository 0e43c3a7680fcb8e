// Decides the exceptions the facade throws: one sealed hierarchy in this
// package, unchecked (so Java callers are not forced to catch), with one
// subclass per kind of the generated uniffi error and the core's message
// unchanged. The generated exception stays attached as the cause.
package dev.cairn

/** Every error a cairn call throws; the subclass says what kind, the message what to fix. */
sealed class CairnException(message: String, cause: Throwable?) : RuntimeException(message, cause) {
    /** A configuration option is out of range or malformed; the message names it. */
    class InvalidConfig(message: String, cause: Throwable? = null) : CairnException(message, cause)
    /** The event, its properties or traits, or an argument is not valid (the message names the key). Nothing was recorded. */
    class InvalidEvent(message: String, cause: Throwable? = null) : CairnException(message, cause)
    /** The event is over `maxEventBytes` once encoded. Nothing was recorded. */
    class EventTooLarge(message: String, cause: Throwable? = null) : CairnException(message, cause)
    /** The buffer file could not be opened or created. */
    class Storage(message: String, cause: Throwable? = null) : CairnException(message, cause)
    /** Another client in this process, or another process, uses the same buffer file. */
    class StorageInUse(message: String, cause: Throwable? = null) : CairnException(message, cause)
    /** A waiting call (`forget`, `commit`) did not finish in time; the work goes on in the background. */
    class Timeout(message: String, cause: Throwable? = null) : CairnException(message, cause)
    /** The client was shut down or closed; create a new one to record again. */
    class ShutDown(message: String, cause: Throwable? = null) : CairnException(message, cause)
    /** The client was created in the parent of this forked process; create one after the fork. */
    class Forked(message: String, cause: Throwable? = null) : CairnException(message, cause)
    /** The call breaks the tracking plan and strict mode is on; the message lists each violation with its path. Nothing was recorded. */
    class PlanViolation(message: String, cause: Throwable? = null) : CairnException(message, cause)
    /** Something cairn did not expect (the message says what). Please report it. */
    class Internal(message: String, cause: Throwable? = null) : CairnException(message, cause)
}

/** Runs a call into the generated layer, translating its exceptions. */
internal inline fun <T> ffiCall(block: () -> T): T = try {
    block()
} catch (e: dev.cairn.ffi.CairnException) {
    throw e.toFacade()
} catch (e: dev.cairn.ffi.InternalException) {
    throw CairnException.Internal("cairn failed unexpectedly: ${e.message}", e)
} catch (e: java.nio.charset.CharacterCodingException) {
    // A string with a lone surrogate (half of an emoji) cannot become UTF-8.
    throw CairnException.InvalidEvent(
        "invalid argument: a string contains a lone surrogate (half of an emoji), which is not valid Unicode: pass whole characters",
        e,
    )
} catch (e: IllegalStateException) {
    // The generated object throws this once close() released it.
    if (e.message?.contains("already been destroyed") != true) throw e
    throw CairnException.ShutDown(CLOSED_MESSAGE, e)
}

/** What a call on a closed [Cairn] says, whichever way it crosses. */
internal const val CLOSED_MESSAGE = "this Cairn client was closed: create a new Cairn to record more events"

internal fun dev.cairn.ffi.CairnException.toFacade(): CairnException {
    val m = message ?: javaClass.simpleName
    return when (this) {
        is dev.cairn.ffi.CairnException.InvalidConfig -> CairnException.InvalidConfig(m, this)
        is dev.cairn.ffi.CairnException.InvalidEvent -> CairnException.InvalidEvent(m, this)
        is dev.cairn.ffi.CairnException.EventTooLarge -> CairnException.EventTooLarge(m, this)
        is dev.cairn.ffi.CairnException.Storage -> CairnException.Storage(m, this)
        is dev.cairn.ffi.CairnException.StorageInUse -> CairnException.StorageInUse(m, this)
        is dev.cairn.ffi.CairnException.Timeout -> CairnException.Timeout(m, this)
        is dev.cairn.ffi.CairnException.ShutDown -> CairnException.ShutDown(m, this)
        is dev.cairn.ffi.CairnException.Forked -> CairnException.Forked(m, this)
        is dev.cairn.ffi.CairnException.PlanViolation -> CairnException.PlanViolation(m, this)
        is dev.cairn.ffi.CairnException.Internal -> CairnException.Internal(m, this)
    }
}
