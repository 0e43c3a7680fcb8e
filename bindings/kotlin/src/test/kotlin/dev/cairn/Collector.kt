// Test support: a Segment-compatible collector on 127.0.0.1 built on the
// JDK's own HTTP server. It records every batch it accepts (gzip or not) and
// answers with a status the test chooses.
package dev.cairn

import com.sun.net.httpserver.HttpServer
import java.net.InetSocketAddress
import java.util.Base64
import java.util.concurrent.CopyOnWriteArrayList
import java.util.zip.GZIPInputStream

class Collector : AutoCloseable {
    private val server: HttpServer = HttpServer.create(InetSocketAddress("127.0.0.1", 0), 0)
    /** Every event of every accepted batch, in arrival order. */
    val events = CopyOnWriteArrayList<Map<String, Any?>>()
    /** The Authorization header of every request. */
    val authHeaders = CopyOnWriteArrayList<String?>()
    @Volatile var requests = 0
    /** (path, decoded body) of every Amplitude or PostHog request. */
    val bodies = CopyOnWriteArrayList<Pair<String, Map<String, Any?>>>()
    /** The status to answer with; 200 accepts the batch. */
    @Volatile var status = 200

    val url: String get() = "http://127.0.0.1:${server.address.port}"

    init {
        server.createContext("/v1/batch") { ex ->
            requests++
            authHeaders.add(ex.requestHeaders.getFirst("Authorization"))
            val raw = ex.requestBody.readBytes()
            val body = if (ex.requestHeaders.getFirst("Content-Encoding") == "gzip") {
                GZIPInputStream(raw.inputStream()).readBytes()
            } else {
                raw
            }
            val code = status
            if (code == 200) {
                @Suppress("UNCHECKED_CAST")
                val batch = MiniJson.obj(String(body, Charsets.UTF_8))["batch"] as List<Map<String, Any?>>
                events.addAll(batch)
            }
            val answer = """{"success":${code == 200}}""".toByteArray()
            ex.sendResponseHeaders(code, answer.size.toLong())
            ex.responseBody.use { it.write(answer) }
        }
        // Amplitude and PostHog formats: kept whole, answered 200.
        for (path in listOf("/2/httpapi", "/batch/")) {
            server.createContext(path) { ex ->
                requests++
                authHeaders.add(ex.requestHeaders.getFirst("Authorization"))
                val raw = ex.requestBody.readBytes()
                val body = if (ex.requestHeaders.getFirst("Content-Encoding") == "gzip") {
                    GZIPInputStream(raw.inputStream()).readBytes()
                } else {
                    raw
                }
                bodies.add(ex.requestURI.path to MiniJson.obj(String(body, Charsets.UTF_8)))
                val answer = "{\"code\":200}".toByteArray()
                ex.sendResponseHeaders(200, answer.size.toLong())
                ex.responseBody.use { it.write(answer) }
            }
        }
        server.start()
    }

    /** Events of one kind (`track`, `identify`...). */
    fun ofType(type: String) = events.filter { it["type"] == type }

    fun basicAuthFor(writeKey: String) = "Basic " + Base64.getEncoder().encodeToString("$writeKey:".toByteArray())

    override fun close() = server.stop(0)
}
