#!/usr/bin/env bash
# A short smoke run of every fuzz target (fuzz/, see docs/RELIABILITY.md «Fuzzing») on its
# committed corpus: a few seconds each, fails if any target crashes.
# Uses the nightly toolchain when installed, else the stable one with RUSTC_BOOTSTRAP=1
# (cargo-fuzz needs unstable compiler flags). Installs cargo-fuzz when missing.
# FUZZ_SECONDS overrides the time per target (default 20).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
seconds=${FUZZ_SECONDS:-20}

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "== installing cargo-fuzz"
  for attempt in 1 2 3; do
    cargo install cargo-fuzz --locked && break
    [ "$attempt" -lt 3 ] || exit 1
    echo "== attempt $attempt of 3 to install cargo-fuzz failed"; sleep $((attempt * 10))
  done
fi

if cargo +nightly --version >/dev/null 2>&1; then
  fuzz=(cargo +nightly fuzz)
else
  export RUSTC_BOOTSTRAP=1
  fuzz=(cargo fuzz)
fi
# No sanitizer: the targets are safe Rust over safe parsers, and libFuzzer's own checks
# (panics, timeouts, memory) are what the smoke run is for; debug assertions catch overflows.
flags=(--sanitizer none --debug-assertions)

cd "$root/fuzz"
targets=$("${fuzz[@]}" list)
echo "== building fuzz targets"
"${fuzz[@]}" build "${flags[@]}"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
count=0
crashes=0
for t in $targets; do
  count=$((count + 1))
  # Run on a copy: what the run adds is not meant for the committed corpus.
  mkdir -p "$work/$t"
  if [ -d "corpus/$t" ]; then cp -a "corpus/$t/." "$work/$t/"; fi
  echo "== $t (${seconds}s)"
  if ! "${fuzz[@]}" run "${flags[@]}" "$t" "$work/$t" -- \
      -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 >"$work/$t.log" 2>&1; then
    crashes=$((crashes + 1))
    echo "CRASH in fuzz target $t; the input is under fuzz/artifacts/$t/. What failed, and the end of its log:"
    # The panic or libFuzzer's verdict first; lines are cut, as the log repeats the whole input.
    grep -E -m 8 "panicked at|ERROR: libFuzzer|SUMMARY|deadly signal|out-of-memory|timeout after" "$work/$t.log" | cut -c1-400 || true
    tail -n 30 "$work/$t.log" | cut -c1-400
  else
    grep -E '^stat::number_of_executed_units' "$work/$t.log" | sed "s/^/  /" || true
  fi
done
echo "fuzz smoke: $count targets, $crashes crashes"
[ "$crashes" -eq 0 ]
