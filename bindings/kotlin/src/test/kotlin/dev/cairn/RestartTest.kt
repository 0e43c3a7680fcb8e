package dev.cairn

import org.junit.Assert.assertEquals
import org.junit.Test
import java.io.File
import java.net.ServerSocket
import java.util.concurrent.TimeUnit
import kotlin.time.Duration.Companion.seconds

/**
 * Promise 2 across a JVM restart: a first JVM records events while the
 * backend is unreachable and dies without shutting down (Runtime.halt);
 * a second JVM on the same buffer file delivers them, with their ids.
 */
class RestartTest {
    @Test
    fun eventsRecordedBeforeAJvmDiesAreDeliveredByTheNextJvm() {
        val dir = Fixtures.tempDir()
        val db = File(dir, "cairn.db")
        val deadEndpoint = "http://127.0.0.1:${unusedPort()}"

        val java = File(System.getProperty("java.home"), "bin/java").path
        val cmd = mutableListOf(java, "-cp", System.getProperty("java.class.path"))
        System.getProperty("jna.library.path")?.let { cmd.add("-Djna.library.path=$it") }
        cmd.addAll(listOf(RestartChild::class.java.name, db.path, deadEndpoint))
        val child = ProcessBuilder(cmd).redirectErrorStream(true).start()
        val output = child.inputStream.bufferedReader().readText()
        check(child.waitFor(60, TimeUnit.SECONDS)) { "the first JVM did not exit" }
        assertEquals("first JVM output: $output", RestartChild.EXIT_CODE, child.exitValue())
        val anonymousId = output.lines().first { it.startsWith("anonymousId=") }.substringAfter("=")

        Collector().use { collector ->
            Cairn(Fixtures.config(collector.url, dir).build()).use { cairn ->
                // The backlog goes out as soon as the worker has loaded it, so
                // a first look may find it queued, in flight or delivered.
                val first = cairn.stats()
                assertEquals("first stats: $first", 3L, first.queuedEvents + first.deliveredEvents)
                assertEquals(0L, cairn.flush(10.seconds).remaining)
                val after = cairn.stats()
                assertEquals("stats after flush: $after", Pair(0L, 3L), Pair(after.queuedEvents, after.deliveredEvents))
            }
            assertEquals(listOf("Before Crash 0", "Before Crash 1", "Before Crash 2"), collector.events.map { it["event"] })
            assertEquals(setOf(anonymousId), collector.events.map { it["anonymousId"] }.toSet())
        }
    }

    private fun unusedPort(): Int = ServerSocket(0).use { it.localPort }
}

/** The first JVM of [RestartTest]: records, commits, and dies without any shutdown. */
object RestartChild {
    const val EXIT_CODE = 42

    @JvmStatic
    fun main(args: Array<String>) {
        val (db, endpoint) = args
        val cairn = Cairn(CairnConfig.builder(Fixtures.WRITE_KEY).endpoint(endpoint).storagePath(db).flushAt(1000).build())
        repeat(3) { cairn.track("Before Crash $it") }
        check(cairn.commit(10.seconds)) { "events were not committed" }
        println("anonymousId=${cairn.anonymousId}")
        System.out.flush()
        // Like a kill: no shutdown, no close, no JVM shutdown hooks.
        Runtime.getRuntime().halt(EXIT_CODE)
    }
}
