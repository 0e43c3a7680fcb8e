// The Android library build of cairn's Kotlin package. Not run in cairn's CI
// (no Android SDK, no Maven repository there): see docs/kotlin.md.
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}
dependencyResolutionManagement {
    repositories {
        google()
        mavenCentral()
    }
}
rootProject.name = "cairn-kotlin"
include(":android")
