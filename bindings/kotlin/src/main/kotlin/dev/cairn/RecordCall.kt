// Decides how the facade's recording calls (track, screen, page, identify,
// group, alias) reach the core: through `cairn_ffi_record`, a hand-written C
// function (bindings/src/record.rs), instead of uniffi's generated layer.
// Every call through the generated layer allocates JNA Structures (the call
// status, a buffer per string), which cost tens of microseconds per call;
// here JNA's direct mapping passes a Long, Ints and ByteArrays, which it
// copies without any Structure. Everything else stays on the generated layer.
package dev.cairn

import com.sun.jna.Native
import java.nio.ByteBuffer

/** The C functions of the fast path, bound by JNA's direct mapping (`Native.register`). */
internal object RecordLib {
    init {
        // The same library, by the same name and class loader, as the generated
        // bindings: JNA hands both the one loaded copy, so the handles the
        // generated `recordHandle()` gives out are the ones this copy knows.
        Native.register(RecordLib::class.java, libraryName())
        val abi = cairn_ffi_record_abi_version()
        check(abi == RecordCall.ABI_VERSION) {
            "libcairn_ffi speaks version $abi of cairn_ffi_record, this package version ${RecordCall.ABI_VERSION}: " +
                "the jar and the native library come from different builds"
        }
    }

    // What the generated bindings load, with their override property honoured.
    private fun libraryName(): String =
        System.getProperty("uniffi.component.cairn_ffi.libraryOverride") ?: "cairn_ffi"

    external fun cairn_ffi_record_abi_version(): Int

    external fun cairn_ffi_record(
        handle: Long,
        kind: Int,
        name: ByteArray,
        nameLen: Int,
        json: ByteArray,
        jsonLen: Int,
        err: ByteBuffer,
        errCap: Int,
    ): Int
}

/** One recording call through [RecordLib], with its errors turned into [CairnException]s. */
internal object RecordCall {
    /** `RECORD_ABI_VERSION` in bindings/src/record.rs. */
    const val ABI_VERSION = 1

    // Call kinds: `CALL_*` in bindings/src/record.rs.
    const val TRACK = 0
    const val SCREEN = 1
    const val PAGE = 2
    const val IDENTIFY = 3
    const val GROUP = 4
    const val ALIAS = 5

    /** Room for the error kind and message; the core's messages are well under it (longer ones end in "…"). */
    private const val ERR_CAP = 1024
    private val NONE = ByteArray(0)

    /**
     * One error buffer per thread, direct so that JNA passes its address
     * instead of copying 1 KiB in and out of every call, as it does for a
     * ByteArray. Only the thread that owns it writes it, during its own call.
     */
    private val errBuffer = object : ThreadLocal<ByteBuffer>() {
        // Not ThreadLocal.withInitial: Android has it from API 26 only.
        override fun initialValue(): ByteBuffer = ByteBuffer.allocateDirect(ERR_CAP)
    }

    /**
     * Records one call of [kind] on the client [handle] names. [what] names
     * [name] and [field] names [json] in errors (`"event name"`, `"properties"`).
     * [refused] runs when this side refuses the call (so the core counts it).
     */
    fun record(handle: Long, kind: Int, what: String, name: String, field: String, json: String, refused: () -> Unit) {
        val nameBytes = utf8(what, name, refused)
        val jsonBytes = if (json.isEmpty()) NONE else utf8(field, json, refused)
        val err: ByteBuffer = errBuffer.get()
        val n = RecordLib.cairn_ffi_record(handle, kind, nameBytes, nameBytes.size, jsonBytes, jsonBytes.size, err, ERR_CAP)
        if (n != 0) throw failure(n, err)
    }

    private fun failure(n: Int, err: ByteBuffer): CairnException {
        if (n < 0) return CairnException.Internal("cairn failed unexpectedly: cairn_ffi_record returned $n")
        // Absolute gets: the bulk get(index, ...) needs Java 13 / Android API 35.
        val bytes = ByteArray(n) { err.get(it) }
        val m = String(bytes, 1, n - 1, Charsets.UTF_8)
        return when (bytes[0].toInt()) {
            1 -> CairnException.InvalidConfig(m)
            2 -> CairnException.InvalidEvent(m)
            3 -> CairnException.EventTooLarge(m)
            4 -> CairnException.Storage(m)
            5 -> CairnException.StorageInUse(m)
            6 -> CairnException.Timeout(m)
            7 -> CairnException.ShutDown(m)
            9 -> CairnException.ShutDown(CLOSED_MESSAGE)
            10 -> CairnException.Forked(m)
            11 -> CairnException.PlanViolation(m)
            else -> CairnException.Internal(m)
        }
    }

    /**
     * [s] as UTF-8. `String.toByteArray` would silently turn a lone UTF-16
     * surrogate (half an emoji, after a careless `substring`) into `?`; the
     * generated layer refuses it, and so does this, as an invalid event.
     */
    private fun utf8(what: String, s: String, refused: () -> Unit): ByteArray {
        for (i in s.indices) {
            if (Character.isSurrogate(s[i])) {
                checkSurrogates(what, s, i, refused)
                break
            }
        }
        return s.toByteArray(Charsets.UTF_8)
    }

    private fun checkSurrogates(what: String, s: String, from: Int, refused: () -> Unit) {
        var i = from
        while (i < s.length) {
            val c = s[i]
            if (Character.isHighSurrogate(c) && i + 1 < s.length && Character.isLowSurrogate(s[i + 1])) {
                i += 2
                continue
            }
            if (Character.isSurrogate(c)) {
                refused()
                throw CairnException.InvalidEvent(
                    "invalid event: $what contains a lone UTF-16 surrogate (\\u%04x at index %d), which UTF-8 cannot carry: ".format(c.code, i) +
                        "was a string cut in the middle of an emoji or other character outside the BMP?",
                )
            }
            i++
        }
    }
}
