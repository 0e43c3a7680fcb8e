package dev.cairn

import org.junit.Assert.assertEquals
import org.junit.Assert.assertThrows
import org.junit.Assert.assertTrue
import org.junit.Test
import kotlin.time.Duration.Companion.seconds

/** Bad input gets a clear exception that names what to fix, and nothing is recorded. */
class ErrorTest {
    private fun client() = Cairn(Fixtures.config("http://127.0.0.1:9").build())

    private fun assertMessage(e: Throwable, vararg parts: String) {
        val m = e.message ?: ""
        for (p in parts) assertTrue("message should contain \"$p\": $m", m.contains(p))
    }

    @Test
    fun aPropertyJsonCannotCarryIsNamedByItsKeyPath() {
        client().use { cairn ->
            val nan = assertThrows(CairnException.InvalidEvent::class.java) {
                cairn.track("Bad", mapOf("price" to Double.NaN))
            }
            assertMessage(nan, "properties.price", "NaN is not a JSON number")

            val nested = assertThrows(CairnException.InvalidEvent::class.java) {
                cairn.track("Bad", mapOf("cart" to listOf(mapOf("sku" to "a"), mapOf("item" to Thread()))))
            }
            assertMessage(nested, "properties.cart[1].item", "java.lang.Thread cannot be encoded as JSON")

            val oddKey = assertThrows(CairnException.InvalidEvent::class.java) {
                cairn.identify("u", mapOf("first name" to mapOf(1 to "x")))
            }
            assertMessage(oddKey, "traits[\"first name\"]", "key", "must be strings")

            val cycle = HashMap<String, Any?>()
            cycle["self"] = cycle
            val deep = assertThrows(CairnException.InvalidEvent::class.java) { cairn.track("Loop", cycle) }
            assertMessage(deep, "properties.self.self", "contain itself")

            assertThrows(CairnException.InvalidEvent::class.java) {
                cairn.track("Bytes", mapOf("blob" to byteArrayOf(1, 2)))
            }.also { assertMessage(it, "properties.blob", "Base64") }

            cairn.commit(5.seconds)
            assertEquals(0L, cairn.stats().queuedEvents)
            // Refused here, before the core saw them: still counted, as the core counts its own refusals.
            assertEquals(5L, cairn.stats().dropped.invalid)
            // A context is not an event: refusing one counts nothing.
            assertThrows(CairnException.InvalidEvent::class.java) { cairn.setContext(mapOf("x" to Double.NaN)) }
            cairn.commit(5.seconds)
            assertEquals(5L, cairn.stats().dropped.invalid)
        }
    }

    @Test
    fun theCoreRejectsBadCallsWithItsOwnWords() {
        client().use { cairn ->
            assertMessage(assertThrows(CairnException.InvalidEvent::class.java) { cairn.track("") }, "event")
            assertThrows(CairnException.InvalidEvent::class.java) { cairn.setAnonymousId(" ") }
            assertThrows(CairnException.InvalidEvent::class.java) { cairn.setConsent("", ConsentState.GRANTED) }
            val big = "x".repeat(40_000)
            assertMessage(
                assertThrows(CairnException.EventTooLarge::class.java) { cairn.track("Huge", mapOf("blob" to big)) },
                "max_event_bytes",
            )
            cairn.commit(5.seconds)
            // Events refused are counted as drops; a refused setting is not an event.
            val dropped = cairn.stats().dropped
            assertEquals(1L, dropped.invalid)
            assertEquals(1L, dropped.oversize)
        }
    }

    @Test
    fun badConfigurationNamesTheOption() {
        assertMessage(
            assertThrows(CairnException.InvalidConfig::class.java) { Cairn(Fixtures.config("ftp://example.com").build()) },
            "`endpoint`", "http://",
        )
        assertMessage(
            assertThrows(CairnException.InvalidConfig::class.java) {
                Cairn(CairnConfig.builder("key").storagePath(Fixtures.tempDir().resolve("x.db")).build())
            },
            "`endpoint`", "required",
        )
        assertMessage(
            assertThrows(CairnException.InvalidConfig::class.java) { Fixtures.config("http://127.0.0.1:9").flushAt(-1).build() },
            "`flushAt`", "negative",
        )
        assertMessage(
            assertThrows(CairnException.InvalidConfig::class.java) {
                Cairn(Fixtures.config("http://127.0.0.1:9").context(mapOf("app" to mapOf("v" to Double.POSITIVE_INFINITY))).build())
            },
            "`context`", "context.app.v",
        )
    }

    @Test
    fun aSecondClientOnTheSameFileIsRefused() {
        val dir = Fixtures.tempDir()
        Cairn(Fixtures.config("http://127.0.0.1:9", dir).build()).use {
            assertMessage(
                assertThrows(CairnException.StorageInUse::class.java) { Cairn(Fixtures.config("http://127.0.0.1:9", dir).build()) },
                "storage_path",
            )
        }
    }

    @Test
    fun callsAfterShutdownOrCloseSaySo() {
        val cairn = client()
        cairn.track("Last")
        cairn.shutdown(1.seconds)
        assertMessage(assertThrows(CairnException.ShutDown::class.java) { cairn.track("Too Late") }, "shut down")
        cairn.close()
        assertMessage(assertThrows(CairnException.ShutDown::class.java) { cairn.stats() }, "closed")
    }
}
