// Decides how Kotlin values become the JSON text that crosses the FFI, and
// what is refused: a value JSON cannot carry is named by its key path
// ("properties.cart[2].price") so the developer knows which one to fix.
package dev.cairn

import java.math.BigDecimal
import java.math.BigInteger
import java.util.Date
import java.util.UUID

/** A value that cannot be encoded as JSON; [path] names it, e.g. `properties.cart[2].price`. */
internal class JsonEncodingException(val path: String, val reason: String) : RuntimeException("$path: $reason")

internal object JsonText {
    /** Deeper than this is almost surely a map that contains itself. */
    const val MAX_DEPTH = 64

    private val PLAIN_KEY = Regex("[A-Za-z_$][A-Za-z0-9_$-]*")

    /**
     * Encodes [map] as a JSON object; `""` for an empty map (the core reads it
     * as "none"). [root] names the map in error paths (`properties`, `traits`).
     */
    fun encode(root: String, map: Map<String, Any?>): String {
        if (map.isEmpty()) return ""
        val out = StringBuilder(32 + map.size * 24)
        writeValue(out, map, Path(null, root, -1), 0)
        return out.toString()
    }

    private fun writeValue(out: StringBuilder, value: Any?, path: Path, depth: Int) {
        when (value) {
            null -> out.append("null")
            is String -> writeString(out, value)
            is Boolean -> out.append(if (value) "true" else "false")
            is Int, is Long, is Short, is Byte, is BigInteger -> out.append(value.toString())
            is Double -> writeFloating(out, value, path)
            is Float -> writeFloating(out, value.toDouble(), path, value.toString())
            is BigDecimal -> out.append(value.toString())
            is Number -> writeFloating(out, value.toDouble(), path)
            is Char -> writeString(out, value.toString())
            is CharSequence -> writeString(out, value.toString())
            is Enum<*> -> writeString(out, value.name)
            is Map<*, *> -> writeMap(out, value, path, depth)
            is Iterable<*> -> writeList(out, value.iterator(), path, depth)
            is Array<*> -> writeList(out, value.iterator(), path, depth)
            is IntArray -> writeList(out, value.iterator(), path, depth)
            is LongArray -> writeList(out, value.iterator(), path, depth)
            is DoubleArray -> writeList(out, value.iterator(), path, depth)
            is FloatArray -> writeList(out, value.iterator(), path, depth)
            is ShortArray -> writeList(out, value.iterator(), path, depth)
            is BooleanArray -> writeList(out, value.iterator(), path, depth)
            is CharArray -> writeString(out, String(value))
            is ByteArray -> throw JsonEncodingException(path.toString(), "binary data (ByteArray) cannot be sent as JSON: encode it as Base64 text first")
            is Date -> writeString(out, Iso8601.format(value.time))
            is UUID, is java.net.URI, is java.net.URL -> writeString(out, value.toString())
            else -> writeOther(out, value, path)
        }
    }

    private fun writeOther(out: StringBuilder, value: Any, path: Path) {
        // java.time is looked up by name so that Android below API 26 (no
        // java.time) still loads this class.
        val name = value.javaClass.name
        if (name.startsWith("java.time.")) {
            val text = if (name == "java.time.ZonedDateTime") {
                // ZonedDateTime.toString() appends "[Zone/Id]", which is not ISO-8601.
                value.javaClass.getMethod("toOffsetDateTime").invoke(value).toString()
            } else {
                value.toString()
            }
            writeString(out, text)
            return
        }
        throw JsonEncodingException(
            path.toString(),
            "a $name cannot be encoded as JSON: pass a String, number, Boolean, null, Map, List, " +
                "array, Date, UUID or enum (convert the value first, e.g. with toString())",
        )
    }

    private fun writeFloating(out: StringBuilder, d: Double, path: Path, text: String = d.toString()) {
        if (d.isNaN() || d.isInfinite()) {
            throw JsonEncodingException(path.toString(), "$d is not a JSON number: send null or a string instead")
        }
        out.append(text)
    }

    private fun writeMap(out: StringBuilder, map: Map<*, *>, path: Path, depth: Int) {
        checkDepth(path, depth)
        out.append('{')
        var first = true
        for ((key, v) in map) {
            if (key !is String) {
                val what = if (key == null) "null" else "a ${key.javaClass.name} ($key)"
                throw JsonEncodingException(path.toString(), "has key $what: JSON object keys must be strings")
            }
            if (!first) out.append(',')
            first = false
            writeString(out, key)
            out.append(':')
            writeValue(out, v, Path(path, key, -1), depth + 1)
        }
        out.append('}')
    }

    private fun writeList(out: StringBuilder, items: Iterator<*>, path: Path, depth: Int) {
        checkDepth(path, depth)
        out.append('[')
        var i = 0
        while (items.hasNext()) {
            if (i > 0) out.append(',')
            writeValue(out, items.next(), Path(path, null, i), depth + 1)
            i++
        }
        out.append(']')
    }

    private fun checkDepth(path: Path, depth: Int) {
        if (depth >= MAX_DEPTH) {
            throw JsonEncodingException(path.toString(), "is nested more than $MAX_DEPTH levels deep: does a map or list contain itself?")
        }
    }

    /**
     * Where a value sits: the root's name, or a key or index under a parent.
     * Rendered (`properties.cart[2].price`) only when an error names it:
     * building that text for every value, with a regex match per key, cost
     * more than encoding the value.
     */
    private class Path(private val parent: Path?, private val key: String?, private val index: Int) {
        override fun toString(): String = when {
            parent == null -> key ?: ""
            key == null -> "$parent[$index]"
            PLAIN_KEY.matches(key) -> "$parent.$key"
            else -> "$parent[${quote(key)}]"
        }
    }

    private fun quote(s: String): String = StringBuilder(s.length + 2).also { writeString(it, s) }.toString()

    /** Writes [s] as a JSON string, escaping quotes, backslashes and control characters. */
    fun writeString(out: StringBuilder, s: String) {
        out.append('"')
        var start = 0
        for (i in s.indices) {
            val c = s[i]
            if (c >= ' ' && c != '"' && c != '\\') continue
            out.append(s, start, i)
            when (c) {
                '"' -> out.append("\\\"")
                '\\' -> out.append("\\\\")
                '\n' -> out.append("\\n")
                '\r' -> out.append("\\r")
                '\t' -> out.append("\\t")
                '\b' -> out.append("\\b")
                '\u000C' -> out.append("\\f")
                else -> out.append("\\u00").append(HEX[c.code shr 4]).append(HEX[c.code and 0xF])
            }
            start = i + 1
        }
        out.append(s, start, s.length).append('"')
    }

    private val HEX = "0123456789abcdef".toCharArray()
}

/** Formats epoch milliseconds as ISO-8601 UTC (`2024-05-01T12:00:00.000Z`), without java.time. */
internal object Iso8601 {
    fun format(epochMs: Long): String {
        val f = java.text.SimpleDateFormat("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'", java.util.Locale.ROOT)
        f.timeZone = java.util.TimeZone.getTimeZone("UTC")
        return f.format(Date(epochMs))
    }
}
