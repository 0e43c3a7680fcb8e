package dev.cairn

import org.junit.Assert.assertEquals
import org.junit.Test
import java.math.BigDecimal
import java.time.Instant
import java.time.ZoneId
import java.time.ZonedDateTime
import java.util.Date
import java.util.UUID

/** The facade's encoder: what each Kotlin value becomes on the wire. */
class JsonTextTest {
    private enum class Plan { PRO }

    private fun roundTrip(v: Any?): Any? = MiniJson.obj(JsonText.encode("p", mapOf("v" to v)))["v"]

    @Test
    fun scalarsKeepTheirJsonType() {
        assertEquals("text", roundTrip("text"))
        assertEquals(7L, roundTrip(7))
        assertEquals(Long.MAX_VALUE, roundTrip(Long.MAX_VALUE))
        assertEquals(1.5, roundTrip(1.5f))
        assertEquals(0.1, roundTrip(0.1))
        assertEquals(1.0E21, roundTrip(1.0E21))
        assertEquals(true, roundTrip(true))
        assertEquals(null, roundTrip(null))
        assertEquals(12.345, roundTrip(BigDecimal("12.345")))
        assertEquals("PRO", roundTrip(Plan.PRO))
        assertEquals("c", roundTrip('c'))
    }

    @Test
    fun stringsAreEscaped() {
        val s = "quote \" backslash \\ newline \n tab \t bell \u0007 emoji \uD83D\uDE00 accents éü"
        assertEquals(s, roundTrip(s))
        assertEquals("{\"k\":\"\\u0007\"}", JsonText.encode("p", mapOf("k" to "\u0007")))
    }

    @Test
    fun collectionsAndArraysBecomeLists() {
        assertEquals(listOf(1L, 2L), roundTrip(intArrayOf(1, 2)))
        assertEquals(listOf("a", "b"), roundTrip(arrayOf("a", "b")))
        assertEquals(listOf(true), roundTrip(setOf(true)))
        assertEquals(listOf(1.5), roundTrip(doubleArrayOf(1.5)))
        assertEquals(mapOf("n" to mapOf("m" to listOf<Any?>())), roundTrip(mapOf("n" to mapOf("m" to emptyList<Int>()))))
    }

    @Test
    fun datesAndIdsBecomeIsoText() {
        assertEquals("2024-05-01T12:00:00.000Z", roundTrip(Date(1_714_564_800_000L)))
        assertEquals("2024-05-01T12:00:00Z", roundTrip(Instant.ofEpochMilli(1_714_564_800_000L)))
        val zoned = ZonedDateTime.of(2024, 5, 1, 14, 0, 0, 0, ZoneId.of("Europe/Paris"))
        assertEquals("2024-05-01T14:00+02:00", roundTrip(zoned))
        val id = UUID.randomUUID()
        assertEquals(id.toString(), roundTrip(id))
    }

    @Test
    fun anEmptyMapIsNoPayload() {
        assertEquals("", JsonText.encode("properties", emptyMap()))
    }
}
