package dev.cairn

import org.junit.Assert.assertEquals
import org.junit.Assert.assertThrows
import org.junit.Assert.assertTrue
import org.junit.Test
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit
import kotlin.time.Duration.Companion.seconds

/**
 * The recording fast path (`cairn_ffi_record`, RecordCall.kt) against the
 * real library: what it records arrives whole, and its errors are the same
 * exceptions, counted the same way, as on the generated layer.
 */
class RecordCallTest {
    @Suppress("UNCHECKED_CAST")
    private fun Map<String, Any?>.map(key: String) = this[key] as Map<String, Any?>

    @Test
    fun everyRecordingCallArrivesWithItsFieldsAndNonAsciiTextIntact() {
        Collector().use { collector ->
            Cairn(Fixtures.config(collector.url).build()).use { cairn ->
                cairn.track("Commande passée ✓", mapOf("produit" to "thé vert 緑茶", "émoji" to "🍵🎉", "prix" to 4.5))
                cairn.screen("Écran d'accueil", mapOf("onglet" to "Ωμέγα"))
                cairn.page("Страница")
                cairn.identify("usuário-7", mapOf("nom" to "Zoë 🦊"))
                cairn.group("グループ", mapOf("seats" to 12))
                cairn.alias("usuário-8")
                assertEquals(6L, cairn.flush(10.seconds).delivered)
                assertEquals("usuário-8", cairn.userId)
            }
            assertEquals(listOf("track", "screen", "page", "identify", "group", "alias"), collector.events.map { it["type"] })
            val (track, screen, page, identify, group) = collector.events
            val alias = collector.events[5]
            assertEquals("Commande passée ✓", track["event"])
            assertEquals(mapOf("produit" to "thé vert 緑茶", "émoji" to "🍵🎉", "prix" to 4.5), track.map("properties"))
            assertEquals("Écran d'accueil", screen["name"])
            assertEquals(mapOf("onglet" to "Ωμέγα"), screen.map("properties"))
            assertEquals("Страница", page["name"])
            assertEquals("usuário-7", identify["userId"])
            assertEquals(mapOf("nom" to "Zoë 🦊"), identify.map("traits"))
            assertEquals("グループ", group["groupId"])
            assertEquals(mapOf("seats" to 12L), group.map("traits"))
            assertEquals("usuário-8", alias["userId"])
            assertEquals("usuário-7", alias["previousId"])
            // Every event got the core's stamping, as on the generated layer.
            for (e in collector.events) {
                assertTrue(e.toString(), (e["messageId"] as String).isNotEmpty())
                assertEquals(track["anonymousId"], e["anonymousId"])
                assertEquals("cairn", e.map("context").map("library")["name"])
            }
        }
    }

    @Test
    fun aBadCallThrowsTheCoresExceptionAndCountsOneInvalid() {
        Cairn(Fixtures.config("http://127.0.0.1:9").build()).use { cairn ->
            val blank = assertThrows(CairnException.InvalidEvent::class.java) { cairn.screen("  ", mapOf("a" to 1)) }
            assertTrue(blank.message, blank.message!!.startsWith("invalid event: screen name is empty"))
            cairn.commit(5.seconds)
            assertEquals(1L, cairn.stats().dropped.invalid)

            val huge = assertThrows(CairnException.EventTooLarge::class.java) { cairn.identify("u", mapOf("bio" to "é".repeat(20_000))) }
            assertTrue(huge.message, huge.message!!.contains("max_event_bytes"))
            // Half an emoji cannot become UTF-8: refused before it crosses, and
            // counted as invalid like the calls the core refuses.
            val lone = assertThrows(CairnException.InvalidEvent::class.java) { cairn.track("Cut \uD83C", mapOf("k" to "v")) }
            assertTrue(lone.message, lone.message!!.contains("event name contains a lone UTF-16 surrogate"))
            assertThrows(CairnException.InvalidEvent::class.java) { cairn.track("Ok", mapOf("k" to "\uDF75 cut")) }
                .also { assertTrue(it.message, it.message!!.contains("properties contains a lone UTF-16 surrogate")) }
            // The same on calls that are not events (they cross through the
            // generated layer); those are not events, so nothing is counted.
            assertThrows(CairnException.InvalidEvent::class.java) { cairn.setAnonymousId("anon-\uD83C") }
                .also { assertTrue(it.message, it.message!!.contains("lone surrogate")) }
            cairn.commit(5.seconds)
            val stats = cairn.stats()
            assertEquals(3L, stats.dropped.invalid)
            assertEquals(1L, stats.dropped.oversize)
            assertEquals(0L, stats.queuedEvents)
        }
    }

    @Test
    fun callsAfterShutdownAndAfterCloseThrowShutDown() {
        val cairn = Cairn(Fixtures.config("http://127.0.0.1:9").build())
        cairn.track("Before")
        cairn.shutdown(1.seconds)
        for (call in listOf<() -> Unit>({ cairn.track("Late") }, { cairn.identify("u") }, { cairn.alias("v") })) {
            val e = assertThrows(CairnException.ShutDown::class.java) { call() }
            assertTrue(e.message, e.message!!.contains("shut down"))
        }
        cairn.close()
        for (call in listOf<() -> Unit>({ cairn.track("Later") }, { cairn.page("p") }, { cairn.group("g") })) {
            val e = assertThrows(CairnException.ShutDown::class.java) { call() }
            assertEquals(CLOSED_MESSAGE, e.message)
        }
    }

    @Test
    fun callsFromManyThreadsAllArrive() {
        Collector().use { collector ->
            Cairn(Fixtures.config(collector.url).build()).use { cairn ->
                val pool = Executors.newFixedThreadPool(4)
                val done = (0 until 4).map { t ->
                    pool.submit {
                        repeat(250) { i ->
                            cairn.track("Tick", mapOf("t" to t, "i" to i))
                            // Errors on some threads while others record: each gets its own message.
                            if (i % 50 == 0) {
                                val e = assertThrows(CairnException.InvalidEvent::class.java) { cairn.track("") }
                                assertTrue(e.message, e.message!!.contains("event name is empty"))
                            }
                        }
                    }
                }
                done.forEach { it.get(60, TimeUnit.SECONDS) } // rethrows a failed assertion of any thread
                pool.shutdown()
                // flushAt(1000) may start the upload before flush() is called: count from stats.
                assertEquals(0L, cairn.flush(30.seconds).remaining)
                assertEquals(1000L, cairn.stats().deliveredEvents)
                assertEquals(20L, cairn.stats().dropped.invalid)
            }
            assertEquals(1000, collector.events.size)
            val seen = collector.events.map { it.map("properties").let { p -> p["t"] to p["i"] } }.toSet()
            assertEquals(1000, seen.size)
        }
    }
}
