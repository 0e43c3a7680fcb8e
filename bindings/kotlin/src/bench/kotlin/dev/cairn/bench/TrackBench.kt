// Micro-benchmark: the cost of one track call from Kotlin, as the app's
// thread pays it (encoding the properties, crossing JNA, handing the event
// to the core's worker), after a warm-up. Prints nanoseconds per call; it
// never fails on timing.
package dev.cairn.bench

import dev.cairn.Cairn
import dev.cairn.CairnConfig
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
        val config = CairnConfig.builder("bench-key")
            .endpoint("http://127.0.0.1:9")
            .storagePath(File(dir, "bench.db"))
            // Nothing is sent during the run, nothing overflows, and the
            // caller never waits for room: only the caller's cost is measured.
            .flushAt(10_000_000).flushInterval(1.hours)
            .maxQueueEvents(10_000_000).maxPendingCalls(2_000_000)
            .build()
        Cairn(config).use { cairn ->
            val props = mapOf("sku" to "tea-42", "price" to 4.5, "qty" to 2)
            fun run(label: String, n: Int, call: () -> Unit): Long {
                val t0 = System.nanoTime()
                repeat(n) { call() }
                return (System.nanoTime() - t0) / n
            }
            run("warm-up", warmup) { cairn.track("Bench Event", props) }
            cairn.commit(120.seconds)
            val withProps = run("props", calls) { cairn.track("Bench Event", props) }
            cairn.commit(120.seconds)
            val bare = run("bare", calls) { cairn.track("Bench Event") }
            cairn.commit(120.seconds)
            println("kotlin track: $withProps ns/call with 3 properties, $bare ns/call without ($calls calls each after $warmup warm-up, release library)")
        }
        dir.deleteRecursively()
    }
}
