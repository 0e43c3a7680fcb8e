package dev.cairn

import org.junit.Assert.assertEquals
import org.junit.Test
import kotlin.time.Duration.Companion.seconds

/**
 * A client released with close() instead of shutdown(): the next client on
 * the same buffer file must not send its events a second time.
 */
class ReleaseTest {
    @Test
    fun clientsClosedWithoutShutdownDeliverEachEventExactlyOnce() {
        val dir = Fixtures.tempDir()
        Collector().use { collector ->
            repeat(3) { round ->
                // Each round: record, then close() right away (an upload may be
                // on the wire: close() waits a bounded time for its answer).
                Cairn(Fixtures.config(collector.url, dir).flushAt(1).build()).use { cairn ->
                    repeat(5) { cairn.track("Numbered", mapOf("n" to round * 5 + it)) }
                }
            }
            Cairn(Fixtures.config(collector.url, dir).build()).use { cairn ->
                assertEquals(0L, cairn.flush(10.seconds).remaining)
            }
            val ids = collector.events.groupingBy { it["messageId"] }.eachCount()
            assertEquals("every event arrived", 15, ids.size)
            assertEquals("none twice: ${ids.filterValues { it > 1 }}", 15, collector.events.size)
        }
    }
}
