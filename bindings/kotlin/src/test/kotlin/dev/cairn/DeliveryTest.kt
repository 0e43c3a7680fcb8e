package dev.cairn

import org.junit.Assert.assertEquals
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Test
import java.util.UUID
import kotlin.time.Duration.Companion.seconds

/** Events recorded through the facade reach a real HTTP server, as the Segment spec wants them. */
class DeliveryTest {
    @Test
    fun trackAndIdentifyAreDeliveredWithTheirProperties() {
        Collector().use { collector ->
            Cairn(Fixtures.config(collector.url).build()).use { cairn ->
                cairn.track(
                    "Order Completed",
                    mapOf(
                        "order_id" to "o-1001",
                        "total" to 42.5,
                        "items" to listOf(mapOf("sku" to "tea", "qty" to 2)),
                        "coupon" to null,
                        "gift" to false,
                    ),
                )
                cairn.identify("user-7", mapOf("plan" to "pro", "email" to "ada@example.com"))
                val report = cairn.flush(10.seconds)
                assertEquals(FlushReport(delivered = 2, remaining = 0), report)
            }
            assertEquals(2, collector.events.size)
            val track = collector.ofType("track").single()
            assertEquals("Order Completed", track["event"])
            @Suppress("UNCHECKED_CAST")
            val props = track["properties"] as Map<String, Any?>
            assertEquals("o-1001", props["order_id"])
            assertEquals(42.5, props["total"])
            assertEquals(listOf(mapOf("sku" to "tea", "qty" to 2L)), props["items"])
            assertTrue(props.containsKey("coupon") && props["coupon"] == null)
            assertEquals(false, props["gift"])
            val identify = collector.ofType("identify").single()
            assertEquals("user-7", identify["userId"])
            assertEquals(mapOf("plan" to "pro", "email" to "ada@example.com"), identify["traits"])
            assertEquals(track["anonymousId"], identify["anonymousId"])
            assertTrue(collector.authHeaders.all { it == collector.basicAuthFor(Fixtures.WRITE_KEY) })
        }
    }

    @Test
    fun aMainThreadThatMustNotWaitNeverBlocksAndLosesNothingSilently() {
        Collector().use { collector ->
            // recordWait zero: a full calls channel never holds the caller; its events go to
            // the in-memory spill, in order, and only past that are counted overflow.
            val config = Fixtures.config(collector.url)
                .maxPendingCalls(1)
                .recordWait(kotlin.time.Duration.ZERO)
                .build()
            var overflow = 0L
            Cairn(config).use { cairn ->
                for (n in 0 until 5_000) cairn.track("Tapped", mapOf("n" to n))
                assertEquals(0L, cairn.flush(30.seconds).remaining)
                overflow = cairn.stats().dropped.overflow
            }
            @Suppress("UNCHECKED_CAST")
            val numbers = collector.ofType("track").map { (it["properties"] as Map<String, Any?>)["n"] as Long }
            assertEquals("in the order of the calls", numbers.sorted(), numbers)
            assertEquals(5_000L, numbers.size + overflow)
        }
    }

    @Test
    fun everyCallKindArrivesInOrderWithPlatformAndAppContext() {
        Collector().use { collector ->
            val config = Fixtures.config(collector.url)
                .context(mapOf("app" to mapOf("name" to "Shop", "version" to "2.1")))
                .build()
            Cairn(config).use { cairn ->
                cairn.screen("Home", mapOf("tab" to "deals"))
                cairn.page("Pricing")
                cairn.group("acme", mapOf("seats" to 12))
                cairn.identify("user-1")
                cairn.alias("user-1-new")
                cairn.setContext(mapOf("campaign" to mapOf("name" to "spring")))
                cairn.track("After Context")
                assertEquals(6L, cairn.flush(10.seconds).delivered)
                assertEquals("user-1-new", cairn.userId)
            }
            assertEquals(listOf("screen", "page", "group", "identify", "alias", "track"), collector.events.map { it["type"] })
            assertEquals("Home", collector.events[0]["name"])
            assertEquals("acme", collector.events[2]["groupId"])
            assertEquals("user-1", collector.events[4]["previousId"])
            for (e in collector.events) {
                @Suppress("UNCHECKED_CAST")
                val ctx = e["context"] as Map<String, Any?>
                assertEquals(mapOf("name" to "Shop", "version" to "2.1"), ctx["app"])
                @Suppress("UNCHECKED_CAST")
                assertEquals(System.getProperty("os.name"), (ctx["os"] as Map<String, Any?>)["name"])
                assertNotNull(ctx["locale"])
                @Suppress("UNCHECKED_CAST")
                assertEquals("cairn", (ctx["library"] as Map<String, Any?>)["name"])
            }
            @Suppress("UNCHECKED_CAST")
            val last = collector.events.last()["context"] as Map<String, Any?>
            assertEquals(mapOf("name" to "spring"), last["campaign"])
        }
    }

    @Test
    fun statsShowTheQueueThenTheDelivery() {
        Collector().use { collector ->
            Cairn(Fixtures.config(collector.url).build()).use { cairn ->
                repeat(3) { cairn.track("Tick", mapOf("n" to it)) }
                assertTrue(cairn.commit(5.seconds))
                val before = cairn.stats()
                assertEquals(3L, before.queuedEvents)
                assertTrue(before.queuedBytes > 0)
                assertNull(before.storageError)
                assertEquals(0L, before.dropped.total)
                cairn.flush(10.seconds)
                val after = cairn.stats()
                assertEquals(0L, after.queuedEvents)
                assertEquals(3L, after.deliveredEvents)
                assertEquals(1L, after.requests)
            }
        }
    }

    @Test
    fun forgetErasesTheQueueAndReturnsTheIds() {
        Collector().use { collector ->
            collector.status = 503
            Cairn(Fixtures.config(collector.url).build()).use { cairn ->
                cairn.identify("user-to-forget")
                cairn.track("Private")
                val anon = cairn.anonymousId
                val forgotten = cairn.forget(10.seconds)
                assertEquals(2L, forgotten.eventsErased)
                assertTrue(forgotten.userIds.contains("user-to-forget"))
                assertTrue(forgotten.anonymousIds.contains(anon))
                assertEquals(0L, cairn.stats().queuedEvents)
                assertNull(cairn.userId)
                assertTrue(cairn.anonymousId != anon)
            }
        }
    }

    @Test
    fun enqueueKeepsTheIdsABackendGives() {
        Collector().use { collector ->
            Cairn(Fixtures.config(collector.url).build()).use { cairn ->
                val id = UUID.randomUUID().toString()
                cairn.enqueue(mapOf("type" to "track", "event" to "Invoice Paid", "userId" to "customer-9", "messageId" to id))
                cairn.flush(10.seconds)
                val e = collector.events.single()
                assertEquals("customer-9", e["userId"])
                assertEquals(id, e["messageId"])
            }
        }
    }
}
