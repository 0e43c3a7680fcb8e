// A JVM program that records two events with cairn and delivers them.
//
//   cargo run --release -p cairn-cli -- collect --port 8090   # in another terminal
//   examples/kotlin-jvm/run.sh                                # or: run.sh http://host:port
//
// The endpoint comes from the first argument, else CAIRN_ENDPOINT, else the
// local collector; the buffer file from CAIRN_STORAGE, else ./cairn-example.db.
import dev.cairn.Cairn
import dev.cairn.CairnConfig
import dev.cairn.CairnException
import kotlin.system.exitProcess
import kotlin.time.Duration.Companion.seconds

fun main(args: Array<String>) {
    val endpoint = args.firstOrNull() ?: System.getenv("CAIRN_ENDPOINT") ?: "http://127.0.0.1:8090"
    val config = CairnConfig.builder("example-write-key")
        .endpoint(endpoint)
        .storagePath(System.getenv("CAIRN_STORAGE") ?: "cairn-example.db")
        .context(mapOf("app" to mapOf("name" to "Kotlin JVM example", "version" to "1.0")))
        .build()

    Cairn(config).use { cairn ->
        try {
            cairn.track("Signed Up", mapOf("plan" to "pro", "trial_days" to 14))
            cairn.identify("user-7", mapOf("email" to "ada@example.com", "name" to "Ada"))
        } catch (e: CairnException) {
            System.err.println("cairn refused the call: ${e.message}")
            exitProcess(1)
        }
        // flush waits for the backend: off the main thread in an app, fine in a CLI.
        val report = cairn.flush(5.seconds)
        println("delivered ${report.delivered}, still queued ${report.remaining}")
        println(cairn.stats())
        cairn.shutdown(5.seconds)
        if (report.remaining > 0) {
            System.err.println("not delivered yet: is a collector listening on $endpoint? (events stay in the buffer file)")
            exitProcess(2)
        }
    }
}
