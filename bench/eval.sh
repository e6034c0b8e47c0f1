#!/usr/bin/env bash
# Benchmark of `ruledex eval --all`: every armory rule (SPL and Snowflake)
# over all 277 EVTX files of ../shared, with hyperfine. Usage: bench/eval.sh
set -euo pipefail
cd "$(dirname "$0")/.."
shared=../shared/corpus
[ -d "$shared" ] || { echo "bench: ../shared/corpus not found" >&2; exit 2; }
command -v hyperfine >/dev/null || { echo "bench: install hyperfine (apt-get install hyperfine)" >&2; exit 2; }

touch src/main.rs  # a shared target dir may hold another tree's binary
cargo build --release -q
bin=$(mktemp -d)/ruledex
cp "${CARGO_TARGET_DIR:-target}/release/ruledex" "$bin"
idx=$(mktemp -d)
"$bin" --index "$idx" build --no-eval --catalog "$shared/armory" >/dev/null
evtx="$shared/events/evtx-attack-samples"

hyperfine -i --warmup 1 --runs 5 \
  -n "load 277 EVTX files + one rule (exits 1: no match)" \
  "$bin --index $idx eval 24804.45867 --events $evtx --format json" \
  -n "eval --all: 1,893 armory rules x 277 EVTX files" \
  "$bin --index $idx eval --all --events $evtx --format json"
"$bin" --index "$idx" eval --all --events "$evtx" --format json \
  | python3 -c 'import json,sys; r=json.load(sys.stdin); print({k: r[k] for k in ("events","rules","rules_with_hits","not_evaluable_rules")})'
rm -rf "$idx"
