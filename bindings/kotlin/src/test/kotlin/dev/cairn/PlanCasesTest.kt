package dev.cairn

import org.junit.Assert.assertEquals
import org.junit.Assert.assertThrows
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test
import java.io.File
import kotlin.time.Duration.Companion.seconds

/**
 * The shared table of tracking-plan cases (tests/plan-cases.json), driven
 * through the Kotlin facade: the same plan gives the same verdicts here as
 * in Rust, Python and the browser. Strict mode shows the violations at the
 * call; with the plan's policies, stats() shows what was dropped and counted.
 */
class PlanCasesTest {
    @Suppress("UNCHECKED_CAST")
    private val table: Map<String, Any?> by lazy {
        var dir: File? = File(System.getProperty("user.dir")).absoluteFile
        while (dir != null && !File(dir, "tests/plan-cases.json").exists()) dir = dir.parentFile
        val root = dir ?: throw AssertionError("tests/plan-cases.json not found above ${System.getProperty("user.dir")}")
        MiniJson.obj(File(root, "tests/plan-cases.json").readText())
    }

    @Suppress("UNCHECKED_CAST")
    private fun record(cairn: Cairn, call: Map<String, Any?>) {
        val payload = { k: String -> (call[k] as Map<String, Any?>?) ?: emptyMap() }
        when (call["type"]) {
            "track" -> cairn.track(call["event"] as String, payload("properties"))
            "identify" -> cairn.identify(call["user_id"] as String, payload("traits"))
            "group" -> cairn.group(call["group_id"] as String, payload("traits"))
            "screen" -> cairn.screen(call["name"] as String, payload("properties"))
            else -> fail("no such call in the table: ${call["type"]}")
        }
    }

    @Suppress("UNCHECKED_CAST")
    @Test
    fun theSharedTableOfCases() {
        val plans = table["plans"] as Map<String, Any?>
        val cases = table["cases"] as List<Map<String, Any?>>
        assertTrue(cases.size >= 10)
        for (case in cases) {
            val name = case["name"] as String
            val plan = JsonText.encode("plan", plans[case["plan"] as String] as Map<String, Any?>)
            val want = case["violations"] as List<String>
            val dropped = case["dropped"] as Boolean
            val call = case["call"] as Map<String, Any?>

            Cairn(Fixtures.config("http://127.0.0.1:9").trackingPlan(plan).build()).use { cairn ->
                record(cairn, call)
                cairn.commit(5.seconds)
                val s = cairn.stats()
                assertEquals(name, if (dropped) 1L else 0L, s.dropped.planViolation)
                assertEquals(name, want.size.toLong(), s.planViolations.sumOf { it.count })
                val seen = s.recentViolations.map { if (it.path.isEmpty()) it.message else "${it.path}: ${it.message}" }
                assertEquals(name, want.takeLast(10), seen)
            }
            Cairn(Fixtures.config("http://127.0.0.1:9").trackingPlan(plan).strictTrackingPlan(true).build()).use { cairn ->
                if (want.isEmpty()) {
                    record(cairn, call)
                } else {
                    val e = assertThrows(name, CairnException.PlanViolation::class.java) { record(cairn, call) }
                    for (w in want) assertTrue("$name: ${e.message} lacks $w", e.message!!.contains(w))
                }
            }
        }
    }

    @Test
    fun aPlanReplacedAtRunTimeAndABadOneRefused() {
        Cairn(Fixtures.config("http://127.0.0.1:9").strictTrackingPlan(true).build()).use { cairn ->
            cairn.track("Anything")
            val bad = assertThrows(CairnException.InvalidConfig::class.java) {
                cairn.setTrackingPlan("""{"id": "p", "events": {"E": {"properties": {"oneOf": []}}}}""")
            }
            assertTrue(bad.message, bad.message!!.contains("at /events/E/properties/oneOf: unsupported keyword `oneOf`"))
            cairn.setTrackingPlan("""{"id": "p", "unplanned": "drop", "events": {"E": {}}}""")
            assertThrows(CairnException.PlanViolation::class.java) { cairn.track("Anything") }
            cairn.track("E")
            cairn.removeTrackingPlan()
            cairn.track("Anything")
        }
    }
}
