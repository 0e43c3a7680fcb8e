package dev.cairn

import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test
import java.io.File
import java.util.concurrent.TimeUnit

/** examples/kotlin-jvm/Main.kt (compiled into the test jar), run in its own JVM, delivers its events. */
class ExampleTest {
    @Test
    fun theJvmExampleDeliversItsTwoEvents() {
        Collector().use { collector ->
            val java = File(System.getProperty("java.home"), "bin/java").path
            val cmd = mutableListOf(java, "-cp", System.getProperty("java.class.path"))
            System.getProperty("jna.library.path")?.let { cmd.add("-Djna.library.path=$it") }
            cmd.addAll(listOf("MainKt", collector.url))
            val pb = ProcessBuilder(cmd).redirectErrorStream(true)
            pb.environment()["CAIRN_STORAGE"] = File(Fixtures.tempDir(), "example.db").path
            val child = pb.start()
            val output = child.inputStream.bufferedReader().readText()
            check(child.waitFor(60, TimeUnit.SECONDS)) { "the example did not exit" }
            assertEquals("example output: $output", 0, child.exitValue())
            assertTrue(output, output.contains("delivered 2, still queued 0"))
            assertEquals(listOf("track", "identify"), collector.events.map { it["type"] })
        }
    }
}
