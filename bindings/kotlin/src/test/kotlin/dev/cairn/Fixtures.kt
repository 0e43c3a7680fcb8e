// Test support: a configuration pointing at a collector and a fresh buffer
// file, with batching set so that nothing leaves before the test flushes.
package dev.cairn

import java.io.File
import java.nio.file.Files

object Fixtures {
    const val WRITE_KEY = "kotlin-test-key"

    private val made = java.util.Collections.synchronizedList(mutableListOf<File>())

    init {
        // deleteOnExit() removes only empty directories: every test's buffer
        // file, lock and id file stayed behind in /tmp, run after run.
        Runtime.getRuntime().addShutdownHook(Thread {
            synchronized(made) { made.forEach { it.deleteRecursively() } }
        })
    }

    fun tempDir(): File = Files.createTempDirectory("cairn-kt").toFile().also { made.add(it) }

    fun config(endpoint: String, dir: File = tempDir()): CairnConfig.Builder =
        CairnConfig.builder(WRITE_KEY)
            .endpoint(endpoint)
            .storagePath(File(dir, "cairn.db"))
            .flushAt(1000)
}
