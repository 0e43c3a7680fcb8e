// The Android-only part of the Kotlin package (compiled into the AAR, not
// into the JVM jar): decides where the buffer file lives on a device, what
// the platform context says (app, device, os, locale, timezone, screen, from
// Context and Build), and when to flush on its own (when the app's last
// activity stops, i.e. the app goes to the background), always off the
// main thread.
package dev.cairn.android

import android.app.Activity
import android.app.Application
import android.content.Context
import android.os.Build
import android.os.Bundle
import dev.cairn.Cairn
import dev.cairn.CairnConfig
import dev.cairn.PlatformContext
import java.io.File
import java.util.concurrent.ExecutorService
import java.util.concurrent.Executors
import java.util.concurrent.atomic.AtomicBoolean
import kotlin.time.Duration
import kotlin.time.Duration.Companion.seconds

/** Creates [Cairn] clients for an Android app. */
object CairnAndroid {
    /**
     * A client for this app, usually created once in `Application.onCreate`
     * and kept for the app's life. Unless [config] says otherwise, events are
     * buffered in `noBackupFilesDir/cairn.db` (not copied by Auto Backup to
     * another device), every event's context carries the app, device, os,
     * locale, timezone and screen, and queued events are flushed (on a
     * background thread, for up to [backgroundFlushTimeout]) when the app
     * goes to the background. Opening the buffer file takes a few
     * milliseconds of disk work on the calling thread.
     */
    @JvmStatic
    @JvmOverloads
    fun create(
        context: Context,
        config: CairnConfig,
        flushOnBackground: Boolean = true,
        backgroundFlushTimeout: Duration = 10.seconds,
    ): Cairn {
        val app = context.applicationContext
        val withPath = config.withDefaultStoragePath(File(app.noBackupFilesDir, "cairn.db").path)
        val platform = if (withPath.platformContext) platformContext(app) else emptyMap()
        val cairn = Cairn(withPath, platform)
        if (flushOnBackground && app is Application) {
            app.registerActivityLifecycleCallbacks(BackgroundFlush(cairn, backgroundFlushTimeout))
        }
        return cairn
    }

    /** What this device and app say about themselves, in Segment's context fields. */
    @JvmStatic
    fun platformContext(context: Context): Map<String, Any?> {
        val base = PlatformContext.jvm()
        val android = LinkedHashMap<String, Any?>()
        appInfo(context)?.let { android["app"] = it }
        android["device"] = mapOf(
            "manufacturer" to Build.MANUFACTURER,
            "model" to Build.MODEL,
            "name" to Build.DEVICE,
            "type" to "android",
        )
        android["os"] = mapOf("name" to "Android", "version" to Build.VERSION.RELEASE)
        val metrics = context.resources.displayMetrics
        android["screen"] = mapOf("width" to metrics.widthPixels, "height" to metrics.heightPixels, "density" to metrics.density)
        return PlatformContext.merge(base, android)
    }

    private fun appInfo(context: Context): Map<String, Any?>? = try {
        val pm = context.packageManager
        val info = pm.getPackageInfo(context.packageName, 0)
        @Suppress("DEPRECATION")
        val build = if (Build.VERSION.SDK_INT >= 28) info.longVersionCode else info.versionCode.toLong()
        mapOf(
            "name" to context.applicationInfo.loadLabel(pm).toString(),
            "version" to info.versionName,
            "build" to build.toString(),
            "namespace" to context.packageName,
        )
    } catch (e: Exception) {
        // The app's own package is always there; a broken PackageManager
        // must not stop analytics, so the app fields are left out instead.
        null
    }
}

/**
 * Counts started activities; when the last one stops for good (not for a
 * configuration change), the app is in the background: flush once, on a
 * single background thread, and skip if a flush is still running.
 */
internal class BackgroundFlush(private val cairn: Cairn, private val timeout: Duration) : Application.ActivityLifecycleCallbacks {
    private var started = 0
    private val running = AtomicBoolean(false)
    private val executor: ExecutorService = Executors.newSingleThreadExecutor { r ->
        Thread(r, "cairn-background-flush").apply { isDaemon = true }
    }

    override fun onActivityStarted(activity: Activity) {
        started++
    }

    override fun onActivityStopped(activity: Activity) {
        started = (started - 1).coerceAtLeast(0)
        if (started == 0 && !activity.isChangingConfigurations && running.compareAndSet(false, true)) {
            executor.execute {
                try {
                    cairn.flush(timeout)
                } catch (e: Exception) {
                    // Shut down, or closed: nothing to flush. Events stay on disk otherwise.
                } finally {
                    running.set(false)
                }
            }
        }
    }

    override fun onActivityCreated(activity: Activity, savedInstanceState: Bundle?) {}
    override fun onActivityResumed(activity: Activity) {}
    override fun onActivityPaused(activity: Activity) {}
    override fun onActivitySaveInstanceState(activity: Activity, outState: Bundle) {}
    override fun onActivityDestroyed(activity: Activity) {}
}
