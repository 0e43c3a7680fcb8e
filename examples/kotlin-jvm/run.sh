#!/usr/bin/env bash
# Builds the cairn Kotlin jar (scripts/bindings-kotlin.sh), compiles Main.kt
# against it and runs it. Arguments are passed to the program (the endpoint).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/../../scripts/bindings-lib.sh"
"$BINDINGS_ROOT/scripts/bindings-kotlin.sh" >/dev/null
KOTLIN_JAR="$BUILD/kotlin/cairn-kotlin.jar"
out="$BUILD/example-kotlin-jvm"
mkdir -p "$out"
if [[ ! -f $out/example.jar || $here/Main.kt -nt $out/example.jar || $KOTLIN_JAR -nt $out/example.jar ]]; then
    "$KOTLINC" -cp "$KOTLIN_JAR:$JNA_JAR" "$here/Main.kt" -d "$out/example.jar"
fi
exec java -cp "$out/example.jar:$KOTLIN_JAR:$JNA_JAR:$KOTLIN_LIB/kotlin-stdlib.jar" MainKt "$@"
