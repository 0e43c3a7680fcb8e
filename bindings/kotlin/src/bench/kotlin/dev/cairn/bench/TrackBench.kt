// Micro-benchmark: the cost of one track call from Kotlin, as the app's
// thread pays it (encoding the properties, crossing JNA, handing the event
// to the core's worker), after a warm-up. Prints nanoseconds per call; it
// never fails on timing. For comparison, in the same process and on the
// same load, it also times the same call through uniffi's generated layer,
// which the facade's recording calls no longer use (RecordCall.kt).
package dev.cairn.bench

import dev.cairn.Cairn
import dev.cairn.CairnConfig
import dev.cairn.JsonText
import dev.cairn.toFfi
import java.io.File
import java.nio.file.Files
import kotlin.time.Duration.Companion.hours
import kotlin.time.Duration.Companion.seconds

object TrackBench {
    @JvmStatic
    fun main(args: Array<String>) {
        val calls = args.getOrNull(0)?.toInt() ?: 100_000
        val warmup = args.getOrNull(1)?.toInt() ?: 20_000
        val dir = Files.createTempDirectory("cairn-bench").toFile()
        fun config(file: String) = CairnConfig.builder("bench-key")
            .endpoint("http://127.0.0.1:9")
            .storagePath(File(dir, file))
            // Nothing is sent during the run, nothing overflows, and the
            // caller never waits for room: only the caller's cost is measured.
            .flushAt(10_000_000).flushInterval(1.hours)
            .maxQueueEvents(10_000_000).maxPendingCalls(2_000_000)
            .build()
        val props = mapOf("sku" to "tea-42", "price" to 4.5, "qty" to 2)
        fun run(n: Int, call: () -> Unit): Long {
            val t0 = System.nanoTime()
            repeat(n) { call() }
            return (System.nanoTime() - t0) / n
        }
        Cairn(config("bench.db")).use { cairn ->
            run(warmup) { cairn.track("Bench Event", props) }
            cairn.commit(120.seconds)
            val withProps = run(calls) { cairn.track("Bench Event", props) }
            cairn.commit(120.seconds)
            val bare = run(calls) { cairn.track("Bench Event") }
            cairn.commit(120.seconds)
            println("kotlin track: $withProps ns/call with 3 properties, $bare ns/call without ($calls calls each after $warmup warm-up, release library)")
        }
        // The generated layer is some 50 times slower: a tenth of the calls.
        val slow = maxOf(calls / 10, 1)
        dev.cairn.ffi.CairnClient(config("generated.db").toFfi(null)).use { ffi ->
            run(maxOf(warmup / 10, 1)) { ffi.track("Bench Event", JsonText.encode("properties", props)) }
            ffi.commit(120_000u)
            val withProps = run(slow) { ffi.track("Bench Event", JsonText.encode("properties", props)) }
            ffi.commit(120_000u)
            val bare = run(slow) { ffi.track("Bench Event", "") }
            ffi.commit(120_000u)
            println("kotlin track via uniffi's generated layer: $withProps ns/call with 3 properties, $bare ns/call without ($slow calls each)")
        }
        dir.deleteRecursively()
    }
}
