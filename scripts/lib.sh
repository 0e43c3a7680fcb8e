# Shared by the project's scripts: install steps that skip what is present,
# and the summary the test command ends with.
LOG_DIR="${CAIRN_LOG_DIR:-target/test-logs}"
mkdir -p "$LOG_DIR"
SUITES=()

step() { printf '\n==> %s\n' "$*"; }

ensure_rust_components() {
    if ! cargo clippy --version >/dev/null 2>&1; then
        echo "rustup: installing the clippy component"
        rustup component add clippy
    fi
}

# Reads cargo test's "test result:" lines and records the Rust totals.
# Runs a suite script, keeps its closing "NAME: N passed, M failed" line.
run_suite() {
    local name="$1"; shift
    step "$name"
    "$@" 2>&1 | tee "$LOG_DIR/$name.log"
    SUITES+=("$(grep -E '^[a-z-]+: [0-9]+ passed, [0-9]+ failed' "$LOG_DIR/$name.log" | tail -1)")
}

rust_summary() {
    local passed failed
    passed=$(grep -Eo 'test result: [a-zA-Z]+\. [0-9]+ passed' "$1" | awk '{s+=$4} END {print s+0}')
    failed=$(grep -Eo '[0-9]+ failed;' "$1" | awk '{s+=$1} END {print s+0}')
    SUITES+=("rust: $passed passed, $failed failed")
}

finish() {
    step "summary"
    printf '%s\n' "${SUITES[@]}"
}
