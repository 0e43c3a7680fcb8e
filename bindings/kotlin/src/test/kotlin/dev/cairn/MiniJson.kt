// Test support: a small JSON reader, so the tests can read what the
// collector received and check the facade's encoder by a round trip.
package dev.cairn

/** Parses JSON text into Map / List / String / Double / Long / Boolean / null. */
object MiniJson {
    fun parse(text: String): Any? {
        val r = Reader(text)
        val v = r.value()
        r.skipSpace()
        require(r.i == text.length) { "trailing text at ${r.i}: ${text.substring(r.i).take(20)}" }
        return v
    }

    @Suppress("UNCHECKED_CAST")
    fun obj(text: String): Map<String, Any?> = parse(text) as Map<String, Any?>

    private class Reader(val s: String) {
        var i = 0

        fun skipSpace() {
            while (i < s.length && s[i].isWhitespace()) i++
        }

        fun value(): Any? {
            skipSpace()
            require(i < s.length) { "unexpected end" }
            return when (s[i]) {
                '{' -> obj()
                '[' -> list()
                '"' -> string()
                't' -> literal("true", true)
                'f' -> literal("false", false)
                'n' -> literal("null", null)
                else -> number()
            }
        }

        fun literal(word: String, v: Any?): Any? {
            require(s.startsWith(word, i)) { "bad literal at $i" }
            i += word.length
            return v
        }

        fun obj(): Map<String, Any?> {
            val out = LinkedHashMap<String, Any?>()
            i++
            skipSpace()
            if (s[i] == '}') { i++; return out }
            while (true) {
                skipSpace()
                val k = string()
                skipSpace()
                require(s[i] == ':') { "expected : at $i" }
                i++
                out[k] = value()
                skipSpace()
                when (s[i++]) {
                    ',' -> continue
                    '}' -> return out
                    else -> error("expected , or } at ${i - 1}")
                }
            }
        }

        fun list(): List<Any?> {
            val out = ArrayList<Any?>()
            i++
            skipSpace()
            if (s[i] == ']') { i++; return out }
            while (true) {
                out.add(value())
                skipSpace()
                when (s[i++]) {
                    ',' -> continue
                    ']' -> return out
                    else -> error("expected , or ] at ${i - 1}")
                }
            }
        }

        fun string(): String {
            require(s[i] == '"') { "expected string at $i" }
            i++
            val b = StringBuilder()
            while (true) {
                val c = s[i++]
                when {
                    c == '"' -> return b.toString()
                    c == '\\' -> {
                        when (val e = s[i++]) {
                            'n' -> b.append('\n'); 't' -> b.append('\t'); 'r' -> b.append('\r')
                            'b' -> b.append('\b'); 'f' -> b.append('\u000C')
                            'u' -> { b.append(s.substring(i, i + 4).toInt(16).toChar()); i += 4 }
                            else -> b.append(e)
                        }
                    }
                    c < ' ' -> error("raw control character in string at ${i - 1}")
                    else -> b.append(c)
                }
            }
        }

        fun number(): Any {
            val start = i
            while (i < s.length && s[i] in "+-0123456789.eE") i++
            val t = s.substring(start, i)
            require(t.isNotEmpty()) { "unexpected '${s[start]}' at $start" }
            return if (t.any { it in ".eE" }) t.toDouble() else t.toLong()
        }
    }
}
