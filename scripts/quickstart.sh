#!/usr/bin/env bash
# The quickstart: a local collector and a real client in one process, telling
# a short story (browse, sign up, an outage, recovery) and checking that every
# event arrived exactly once. Needs only Rust; nothing outside this machine.
#
# The first run compiles the cairn tool and its dependencies in release mode
# (SQLite among them): cargo shows its progress, and this script says first
# how long that takes (README, "Try it"). Later runs start in seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
if [[ ! -x $target/release/cairn ]]; then
    echo "quickstart: first build of the cairn tool (cargo build --release -p cairn-cli, 116 crates, SQLite among them):"
    echo "quickstart: about 4 minutes on 2 cores (plus downloading the crates on a new machine); later runs start in seconds"
fi
exec cargo run --release --locked -p cairn-cli -- demo "$@"
