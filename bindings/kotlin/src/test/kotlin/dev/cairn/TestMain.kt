// Runs every JUnit class of the Kotlin suite and prints the closing line
// the test script reads: "kotlin: N passed, M failed". Exits non-zero on a
// failure, and when no test ran at all (a suite that runs nothing is broken).
package dev.cairn

import org.junit.runner.Description
import java.io.File
import java.util.jar.JarFile
import org.junit.runner.JUnitCore
import org.junit.runner.notification.Failure
import org.junit.runner.notification.RunListener
import kotlin.system.exitProcess

object TestMain {
    /** Every top-level class named `*Test` in the jar this runner was loaded from. */
    private fun testClasses(): List<Class<*>> {
        val jar = File(TestMain::class.java.protectionDomain.codeSource.location.toURI())
        return JarFile(jar).use { j ->
            j.entries().toList().map { it.name }
                .filter { it.endsWith("Test.class") && '$' !in it }
                .sorted()
                .map { Class.forName(it.removeSuffix(".class").replace('/', '.')) }
        }
    }

    @JvmStatic
    fun main(args: Array<String>) {
        val core = JUnitCore()
        core.addListener(object : RunListener() {
            private val failed = HashSet<Description>()
            private var started = 0L

            override fun testStarted(d: Description) {
                started = System.nanoTime()
            }

            override fun testFailure(f: Failure) {
                failed.add(f.description)
                println("FAIL ${f.description.className}.${f.description.methodName}\n${f.trace}")
            }

            override fun testFinished(d: Description) {
                if (d !in failed) println("ok   ${d.className}.${d.methodName} (${(System.nanoTime() - started) / 1_000_000} ms)")
            }
        })
        val classes = testClasses()
        println("running ${classes.size} test classes: ${classes.joinToString { it.simpleName }}")
        val result = core.run(*classes.toTypedArray())
        val failed = result.failureCount
        val passed = result.runCount - failed
        println("kotlin: $passed passed, $failed failed")
        if (failed > 0 || result.runCount == 0) exitProcess(1)
        exitProcess(0)
    }
}
