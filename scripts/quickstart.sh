#!/usr/bin/env bash
# The quickstart: a local collector and a real client in one process, telling
# a short story (browse, sign up, an outage, recovery) and checking that every
# event arrived exactly once. Needs only Rust; nothing outside this machine.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo run --quiet --release --locked -p cairn-cli -- demo "$@"
