#!/usr/bin/env bash
# Writes the seed inputs of every target into corpus/<target>/seed-* with plangraf's own
# writers (examples/seeds.rs). The example is built with the same flags cargo-fuzz uses, so the
# dependencies compiled for the targets are reused (and libFuzzer's coverage hooks link).
set -euo pipefail
cd "$(dirname "$0")"
toolchain=()
if cargo +nightly --version >/dev/null 2>&1; then toolchain=(+nightly); else export RUSTC_BOOTSTRAP=1; fi
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cllvm-args=-simplifycfg-branch-fold-threshold=0 \
-Cllvm-args=-sanitizer-coverage-stack-depth -Cdebug-assertions -Ccodegen-units=1"
target=$(rustc "${toolchain[@]}" -vV | sed -n 's/^host: //p')
cargo "${toolchain[@]}" run --target "$target" --release --config 'profile.release.debug="line-tables-only"' \
  --example seeds -- "${1:-corpus}"
