// Decides what the facade knows about the platform it runs on (Segment's
// context fields: os, locale, timezone) and how it is combined with the
// context the app gives: the app's values win, key by key, at every depth.
package dev.cairn

import java.util.Locale
import java.util.TimeZone

/** The platform part of every event's `context`. */
object PlatformContext {
    /** What any JVM can tell: the operating system, the default locale and the time zone. */
    @JvmStatic
    fun jvm(): Map<String, Any?> = mapOf(
        "os" to mapOf("name" to System.getProperty("os.name"), "version" to System.getProperty("os.version")),
        "locale" to Locale.getDefault().toLanguageTag(),
        "timezone" to TimeZone.getDefault().id,
    )

    /** [base] with [overrides] laid over it; nested maps are merged, any other value replaces. */
    @JvmStatic
    fun merge(base: Map<String, Any?>, overrides: Map<String, Any?>): Map<String, Any?> {
        val out = LinkedHashMap(base)
        for ((key, value) in overrides) {
            val under = out[key]
            out[key] = if (under is Map<*, *> && value is Map<*, *>) {
                @Suppress("UNCHECKED_CAST")
                merge(under as Map<String, Any?>, value as Map<String, Any?>)
            } else {
                value
            }
        }
        return out
    }
}
