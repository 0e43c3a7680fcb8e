package dev.cairn

import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds

/** Consent and opt-out, seen from the wire: what may not be sent never reaches the server. */
class ConsentTest {
    private fun needsAnalytics(url: String) = Fixtures.config(url)
        .consent("analytics", ConsentState.UNKNOWN)
        .requiredConsent("analytics")
        .build()

    @Test
    fun eventsWaitForConsentAndLeaveWhenItIsGranted() {
        Collector().use { collector ->
            Cairn(needsAnalytics(collector.url)).use { cairn ->
                cairn.track("Before Consent")
                cairn.flush(300.milliseconds)
                assertEquals("nothing may leave before consent", 0, collector.requests)
                cairn.setConsent("analytics", ConsentState.GRANTED)
                cairn.track("After Consent")
                assertEquals(2L, cairn.flush(10.seconds).delivered)
            }
            assertEquals(listOf("Before Consent", "After Consent"), collector.events.map { it["event"] })
        }
    }

    @Test
    fun deniedConsentDropsTheEventsAndCountsThem() {
        Collector().use { collector ->
            Cairn(needsAnalytics(collector.url)).use { cairn ->
                cairn.track("Held")
                cairn.setConsent("analytics", ConsentState.DENIED)
                cairn.track("Refused")
                cairn.commit(5.seconds)
                cairn.flush(300.milliseconds)
                assertEquals(0, collector.requests)
                assertEquals(2L, cairn.stats().dropped.consent)
            }
        }
    }

    @Test
    fun optOutStoresAndSendsNothingUntilOptIn() {
        Collector().use { collector ->
            Cairn(Fixtures.config(collector.url).build()).use { cairn ->
                cairn.optOut(true)
                cairn.track("While Opted Out")
                cairn.commit(5.seconds)
                assertEquals(0L, cairn.stats().queuedEvents)
                cairn.flush(300.milliseconds)
                assertEquals(0, collector.requests)
                cairn.optOut(false)
                cairn.track("Back In")
                assertEquals(1L, cairn.flush(10.seconds).delivered)
            }
            assertEquals(listOf("Back In"), collector.events.map { it["event"] })
            assertTrue(collector.events.none { it["event"] == "While Opted Out" })
        }
    }
}
