#!/usr/bin/env bash
# Regenerates the typed calls of the sample plan (examples/plans/shop.json)
# in examples/plans/generated/, one file per language, and those of the plan
# of awkward names (examples/plans/edge-cases.json: keywords, quotes, `$`,
# backslashes, digits first) in examples/plans/generated/edge/. The test suite
# compiles and runs these files, and cli/tests/plan_codegen.rs fails when
# one differs from what `cairn plan codegen` writes now: run this script
# after changing the generator or the plan, and commit the result.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q -p cairn-cli
CAIRN="${CARGO_TARGET_DIR:-target}/debug/cairn"
# generate PLAN OUT KOTLIN_PACKAGE
generate() {
    mkdir -p "$2"
    "$CAIRN" plan codegen --lang rust "$1" --out "$2/tracking_plan.rs"
    "$CAIRN" plan codegen --lang kotlin --package "$3" "$1" --out "$2/TrackingPlan.kt"
    "$CAIRN" plan codegen --lang swift "$1" --out "$2/TrackingPlan.swift"
    "$CAIRN" plan codegen --lang python "$1" --out "$2/tracking_plan.py"
    "$CAIRN" plan codegen --lang typescript "$1" --out "$2/tracking-plan.ts"
    echo "regenerated 5 files in $2"
}
generate examples/plans/shop.json examples/plans/generated example.shop
generate examples/plans/edge-cases.json examples/plans/generated/edge example.edge
