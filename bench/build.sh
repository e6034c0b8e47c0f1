#!/usr/bin/env bash
# Benchmark of `ruledex build` (crawl + parse + index) over the real
# corpora in ../shared, with hyperfine. Usage: bench/build.sh
# Prints hyperfine's table; copy the figures into README.md "Benchmarks".
set -euo pipefail
cd "$(dirname "$0")/.."
shared=../shared/corpus
[ -d "$shared" ] || { echo "bench: ../shared/corpus not found" >&2; exit 2; }
command -v hyperfine >/dev/null || { echo "bench: install hyperfine (apt-get install hyperfine)" >&2; exit 2; }

touch src/main.rs  # a shared target dir may hold another tree's binary
cargo build --release -q
bin=$(mktemp -d)/ruledex
cp target/release/ruledex "$bin" 2>/dev/null || cp "${CARGO_TARGET_DIR:-target}/release/ruledex" "$bin"
idx=$(mktemp -d)

hyperfine --warmup 1 --runs 10 \
  -n "build armory (1,898 files)" \
  "$bin --index $idx/a build --no-eval --catalog $shared/armory" \
  -n "build all three corpora (4,175 files)" \
  "$bin --index $idx/b build --no-eval --catalog $shared/armory --catalog $shared/security_content --catalog $shared/sentinel"

if python3 -c 'import yaml' 2>/dev/null; then
  hyperfine --warmup 1 --runs 5 -n "PyYAML safe_load of the armory files (reference)" \
    "python3 -c 'import glob,yaml; [yaml.safe_load(open(f,\"rb\")) for f in glob.glob(\"$shared/armory/**/*.yml\", recursive=True)]'"
fi
rm -rf "$idx"
