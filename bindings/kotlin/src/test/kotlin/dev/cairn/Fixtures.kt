// Test support: a configuration pointing at a collector and a fresh buffer
// file, with batching set so that nothing leaves before the test flushes.
package dev.cairn

import java.io.File
import java.nio.file.Files

object Fixtures {
    const val WRITE_KEY = "kotlin-test-key"

    fun tempDir(): File = Files.createTempDirectory("cairn-kt").toFile().also { it.deleteOnExit() }

    fun config(endpoint: String, dir: File = tempDir()): CairnConfig.Builder =
        CairnConfig.builder(WRITE_KEY)
            .endpoint(endpoint)
            .storagePath(File(dir, "cairn.db"))
            .flushAt(1000)
}
