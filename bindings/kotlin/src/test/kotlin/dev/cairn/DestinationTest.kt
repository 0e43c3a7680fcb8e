package dev.cairn

import org.junit.Assert.assertEquals
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Test
import kotlin.time.Duration.Companion.seconds

/** A client configured for Amplitude or PostHog posts that vendor's format to a real HTTP server. */
class DestinationTest {
    @Test
    fun amplitudeDestinationPostsHttpV2() {
        Collector().use { collector ->
            Cairn(Fixtures.config(collector.url).destination(Destination.Amplitude()).build()).use { cairn ->
                cairn.identify("user-7", mapOf("plan" to "pro"))
                cairn.track("Order Completed", mapOf("total" to 42.5))
                assertEquals(FlushReport(delivered = 2, remaining = 0), cairn.flush(10.seconds))
            }
            val (path, body) = collector.bodies.single()
            assertEquals("/2/httpapi", path)
            assertEquals(Fixtures.WRITE_KEY, body["api_key"])
            @Suppress("UNCHECKED_CAST")
            val events = body["events"] as List<Map<String, Any?>>
            assertEquals(listOf("\$identify", "Order Completed"), events.map { it["event_type"] })
            assertEquals(mapOf("\$set" to mapOf("plan" to "pro")), events[0]["user_properties"])
            assertEquals("user-7", events[1]["user_id"])
            assertNull(collector.authHeaders.single())
        }
    }

    @Test
    fun postHogDestinationPostsBatch() {
        Collector().use { collector ->
            Cairn(Fixtures.config(collector.url).destination(Destination.PostHog).build()).use { cairn ->
                cairn.screen("Home")
                assertEquals(1L, cairn.flush(10.seconds).delivered)
            }
            val (path, body) = collector.bodies.single()
            assertEquals("/batch/", path)
            assertEquals(Fixtures.WRITE_KEY, body["api_key"])
            @Suppress("UNCHECKED_CAST")
            val event = (body["batch"] as List<Map<String, Any?>>).single()
            assertEquals("\$screen", event["event"])
        }
    }

    @Test
    fun aBadMinIdLengthIsRefusedNamingTheOption() {
        val e = runCatching {
            Cairn(Fixtures.config("http://127.0.0.1:9").destination(Destination.Amplitude(minIdLength = 0)).build())
        }.exceptionOrNull()
        assertTrue("$e", e is CairnException.InvalidConfig && e.message!!.contains("min_id_length must be at least 1"))
    }
}
