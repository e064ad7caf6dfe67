//! Shared pieces of plangraf's benchmarks. Each benchmark is a binary of this crate
//! (`cargo run --release -p bench --bin NAME`); docs/PERFORMANCE.md gives the commands and the
//! figures they produced.
