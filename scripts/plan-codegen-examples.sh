#!/usr/bin/env bash
# Regenerates the typed calls of the sample plan (examples/plans/shop.json)
# in examples/plans/generated/, one file per language. The test suite
# compiles and runs these files, and cli/tests/plan_codegen.rs fails when
# one differs from what `cairn plan codegen` writes now: run this script
# after changing the generator or the plan, and commit the result.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q -p cairn-cli
CAIRN="${CARGO_TARGET_DIR:-target}/debug/cairn"
PLAN=examples/plans/shop.json
OUT=examples/plans/generated
mkdir -p "$OUT"
"$CAIRN" plan codegen --lang rust "$PLAN" --out "$OUT/tracking_plan.rs"
"$CAIRN" plan codegen --lang kotlin --package example.shop "$PLAN" --out "$OUT/TrackingPlan.kt"
"$CAIRN" plan codegen --lang swift "$PLAN" --out "$OUT/TrackingPlan.swift"
"$CAIRN" plan codegen --lang python "$PLAN" --out "$OUT/tracking_plan.py"
"$CAIRN" plan codegen --lang typescript "$PLAN" --out "$OUT/tracking-plan.ts"
echo "regenerated $(ls "$OUT" | wc -l) files in $OUT"
