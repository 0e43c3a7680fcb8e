# Shared by the scripts (sourced, not run): which cargo invocation builds the
# debug and release artifacts they use, written once.
#
# Cargo unifies the features of the packages in ONE invocation, and a crate
# built with another feature set is another build (another hash, compiled
# again from scratch). `cargo build -p cairn-ffi -p uniffi-bindgen` and
# `cargo build -p cairn-cli` each resolve their own features (serde_json
# without float_roundtrip, uuid without v5, clap without color, cairn without
# store-contract), so after the workspace build they recompiled 21 and 10
# debug crates, rusqlite and ureq among them; the release cairn-ffi and the
# release cairn-cli shared no crate at all (160 + 55 release builds).
#
# So scripts/test.sh builds twice, once per profile, and exports
# CAIRN_SHARED_BUILD=1: the suites then run these same two invocations, which
# find everything fresh (a second or two), instead of building their own
# package alone. Run on its own, a script builds only the packages it names.
CAIRN_DEBUG_BUILD=(build --workspace --all-targets --locked)
CAIRN_RELEASE_BUILD=(build --release --locked -p cairn-ffi -p cairn-cli)

# cargo_build debug|release [-q] PKG...: builds PKG... in that profile, or,
# under test.sh, the shared invocation that already built them.
cargo_build() {
    local profile=$1 quiet=()
    shift
    [[ ${1:-} == -q ]] && { quiet=(-q); shift; }
    if [[ ${CAIRN_SHARED_BUILD:-} == 1 ]]; then
        if [[ $profile == release ]]; then
            cargo "${CAIRN_RELEASE_BUILD[@]}" "${quiet[@]}"
        else
            cargo "${CAIRN_DEBUG_BUILD[@]}" "${quiet[@]}"
        fi
        return
    fi
    local args=(build --locked "${quiet[@]}")
    [[ $profile == release ]] && args+=(--release)
    local p
    for p in "$@"; do args+=(-p "$p"); done
    cargo "${args[@]}"
}
