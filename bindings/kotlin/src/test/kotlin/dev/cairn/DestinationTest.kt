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
    fun twoDestinationsEachReceiveTheirEventsExactlyOnce() {
        Collector().use { all ->
            Collector().use { orders ->
                val config = Fixtures.config(all.url)
                    .addDestination(
                        DestinationConfig(
                            name = "orders", kind = Destination.Segment, endpoint = orders.url, key = "orders-key",
                            allowEvents = listOf("Order *"), callTypes = listOf("track"),
                        ),
                    )
                    .build()
                Cairn(config).use { cairn ->
                    cairn.identify("user-7")
                    cairn.track("Product Viewed")
                    cairn.track("Order Completed", mapOf("total" to 42.5))
                    cairn.track("Order Refunded")
                    assertEquals(0L, cairn.flush(10.seconds).remaining)
                    val stats = cairn.stats()
                    assertEquals(listOf("default", "orders"), stats.destinations.map { it.name })
                    val (default, routed) = stats.destinations
                    assertEquals(4L, default.deliveredEvents)
                    assertEquals(0L, default.skippedEvents)
                    assertEquals(2L, routed.deliveredEvents)
                    assertEquals(2L, routed.skippedEvents)
                    assertEquals(0L, routed.queuedEvents)
                    assertEquals(6L, stats.deliveredEvents)
                    assertTrue(stats.waitedForRoom.calls >= 0)
                }
                assertEquals(listOf("identify", "track", "track", "track"), all.events.map { it["type"] })
                assertEquals(4, all.events.map { it["messageId"] }.toSet().size)
                assertEquals(listOf("Order Completed", "Order Refunded"), orders.events.map { it["event"] })
                assertEquals(2, orders.events.map { it["messageId"] }.toSet().size)
                assertEquals(
                    orders.events.map { it["messageId"] },
                    all.events.filter { (it["event"] as? String)?.startsWith("Order ") == true }.map { it["messageId"] },
                )
                assertTrue(all.authHeaders.all { it == all.basicAuthFor(Fixtures.WRITE_KEY) })
                assertTrue(orders.authHeaders.all { it == orders.basicAuthFor("orders-key") })
            }
        }
    }

    @Test
    fun theOwnDestinationReceivesOnlyTheEventsItsRoutingAllows() {
        Collector().use { collector ->
            val config = Fixtures.config(collector.url)
                .allowEvents("Order *")
                .denyEvents("Order Refunded")
                .build()
            assertEquals(listOf("Order *"), config.toBuilder().build().allowEvents)
            Cairn(config).use { cairn ->
                cairn.identify("user-7")
                cairn.track("Product Viewed")
                cairn.track("Order Completed", mapOf("total" to 42.5))
                cairn.track("Order Refunded")
                cairn.screen("Home")
                val report = cairn.flush(10.seconds)
                assertEquals(0L, report.remaining)
                val stats = cairn.stats()
                // With one destination that routes, stats list it: its skipped events show there.
                val own = stats.destinations.single()
                assertEquals("default", own.name)
                assertEquals(2L, own.deliveredEvents)
                assertEquals(3L, own.skippedEvents)
                assertEquals(0L, own.queuedEvents)
                assertEquals(0L, stats.queuedEvents)
                assertEquals(2L, stats.deliveredEvents)
            }
            // The identify has no name: name rules pass it.
            assertEquals(listOf("identify", "track"), collector.events.map { it["type"] })
            assertEquals("Order Completed", collector.events[1]["event"])
        }
    }

    @Test
    fun theOwnDestinationsCallTypesAndConsentCategoriesRouteToo() {
        Collector().use { collector ->
            val config = Fixtures.config(collector.url)
                .consent("analytics", ConsentState.GRANTED)
                .callTypes("track")
                .consentCategories("analytics")
                .build()
            Cairn(config).use { cairn ->
                cairn.identify("user-7")
                cairn.track("Signed Up")
                assertEquals(0L, cairn.flush(10.seconds).remaining)
                // Queued when the category is revoked: purged, never sent.
                cairn.track("Order Started")
                cairn.setConsent("analytics", ConsentState.DENIED)
                // Recorded while denied: passed over.
                cairn.track("Order Completed")
                assertEquals(0L, cairn.flush(10.seconds).remaining)
                val stats = cairn.stats()
                val own = stats.destinations.single()
                assertEquals(1L, own.deliveredEvents)
                assertEquals(2L, own.skippedEvents)
                assertEquals(1L, stats.dropped.consent)
            }
            assertEquals(listOf("Signed Up"), collector.events.map { it["event"] })
        }
    }

    @Test
    fun aBadOwnRoutingIsRefusedNamingTheOption() {
        val e = runCatching {
            Cairn(Fixtures.config("http://127.0.0.1:9").callTypes("Track").build())
        }.exceptionOrNull()
        assertTrue("$e", e is CairnException.InvalidConfig && e.message!!.startsWith("invalid config `call_types`: unknown call type `Track`"))
        val pattern = runCatching {
            Cairn(Fixtures.config("http://127.0.0.1:9").denyEvents("Or*der").build())
        }.exceptionOrNull()
        assertTrue("$pattern", pattern is CairnException.InvalidConfig && pattern.message!!.contains("`deny_events`: event name pattern `Or*der`"))
    }

    @Test
    fun withOneDestinationTheStatsListNone() {
        Collector().use { collector ->
            Cairn(Fixtures.config(collector.url).build()).use { cairn ->
                assertEquals(emptyList<DestinationStats>(), cairn.stats().destinations)
            }
        }
    }

    @Test
    fun aBadExtraDestinationIsRefusedInTheCoreWords() {
        val e = runCatching {
            Cairn(
                Fixtures.config("http://127.0.0.1:9")
                    .addDestination(DestinationConfig("default", Destination.PostHog, "https://eu.i.posthog.com", "phc_x"))
                    .build(),
            )
        }.exceptionOrNull()
        assertTrue("$e", e is CairnException.InvalidConfig && e.message!!.contains("two destinations are named `default`"))
        val negative = runCatching {
            Fixtures.config("http://127.0.0.1:9")
                .addDestination(DestinationConfig("a", Destination.Segment, "http://127.0.0.1:9", "k", maxBatchEvents = -1))
                .build()
        }.exceptionOrNull()
        assertTrue("$negative", negative is CairnException.InvalidConfig && negative.message!!.contains("destinations.a.maxBatchEvents"))
    }

    @Test
    fun aBadMinIdLengthIsRefusedNamingTheOption() {
        val e = runCatching {
            Cairn(Fixtures.config("http://127.0.0.1:9").destination(Destination.Amplitude(minIdLength = 0)).build())
        }.exceptionOrNull()
        assertTrue("$e", e is CairnException.InvalidConfig && e.message!!.contains("min_id_length must be at least 1"))
    }
}
