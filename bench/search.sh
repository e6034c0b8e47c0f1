#!/usr/bin/env bash
# Benchmark of `search`, `coverage`, `indicators` and `terms` over an index
# of the three real corpora in ../shared, with hyperfine (each run is a
# whole process: start, open the index, answer). Usage: bench/search.sh
# Prints hyperfine's table; copy the figures into README.md "Benchmarks".
set -euo pipefail
cd "$(dirname "$0")/.."
shared=../shared
[ -d "$shared/corpus" ] || { echo "bench: ../shared/corpus not found" >&2; exit 2; }
command -v hyperfine >/dev/null || { echo "bench: install hyperfine (apt-get install hyperfine)" >&2; exit 2; }

touch src/main.rs  # a shared target dir may hold another tree's binary
cargo build --release -q
bin=$(mktemp -d)/ruledex
cp target/release/ruledex "$bin" 2>/dev/null || cp "${CARGO_TARGET_DIR:-target}/release/ruledex" "$bin"
idx=$(mktemp -d)
c=$shared/corpus
"$bin" --index "$idx" build --no-eval --catalog $c/armory --catalog $c/security_content --catalog $c/sentinel >/dev/null
attack=$shared/attack/enterprise-attack.json

hyperfine -N --warmup 3 --runs 30 \
  -n "search netscan" "$bin --index $idx search netscan" \
  -n "search process_name:*rundll32* AND language:kusto" "$bin --index $idx search 'process_name:*rundll32* AND language:kusto'" \
  -n "search field:EventCode value:4688 tactic:discovery" "$bin --index $idx search 'field:EventCode value:4688 tactic:discovery'" \
  -n "search technique:T1059 --limit 500" "$bin --index $idx search technique:T1059 --limit 500" \
  -n "coverage (ids only)" "$bin --index $idx coverage --findings none" \
  -n "coverage --attack + Navigator layer" "$bin --index $idx coverage --attack $attack --findings none --navigator $idx/layer.json" \
  -n "indicators --top 50" "$bin --index $idx indicators --top 50" \
  -n "terms --top 50" "$bin --index $idx terms --top 50"
rm -rf "$idx"
