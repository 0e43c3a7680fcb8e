// The AAR: the facade (../src/main), the Android source set (../src/android),
// the generated bindings (../generated, written by scripts/bindings-android.sh)
// and libcairn_ffi.so for each ABI (src/main/jniLibs, same script).
plugins {
    id("com.android.library")
    id("org.jetbrains.kotlin.android")
}

android {
    namespace = "dev.cairn"
    compileSdk = 35
    defaultConfig {
        // java.time is used by the facade only when the app passes such values.
        minSdk = 21
        consumerProguardFiles("consumer-rules.pro")
    }
    sourceSets["main"].apply {
        kotlin.srcDirs("../src/main/kotlin", "../src/android/kotlin", "../generated/kotlin")
        jniLibs.srcDirs("src/main/jniLibs")
    }
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_1_8
        targetCompatibility = JavaVersion.VERSION_1_8
    }
    kotlinOptions {
        jvmTarget = "1.8"
    }
}

dependencies {
    // The AAR flavour of JNA carries libjnidispatch.so for every ABI.
    implementation("net.java.dev.jna:jna:5.13.0@aar")
}
