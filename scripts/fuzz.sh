#!/usr/bin/env bash
# Fuzzes every decoder that reads bytes from the network (crates/fuzz) with libFuzzer on stable
# Rust: coverage instrumentation from rustc's own sanitizer-coverage flags, no cargo-fuzz.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     (default: 60 s, every target)
#
# The committed corpus (crates/fuzz/corpus/<target>) is read, never written: new inputs go to
# target/fuzz-corpus/<target>. A crash stops the script with the input saved under
# target/fuzz-artifacts/; fix it, then copy the input into the corpus directory so that
# `cargo test -p tao-fuzz` replays it from then on.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(block gossip signed_tx rpc_params axon_request yuma_scenario)
fi

# An explicit --target keeps these flags off build scripts and proc macros.
triple="$(rustc -vV | sed -n 's/^host: //p')"
export RUSTFLAGS="--cfg fuzzing -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares -Cdebug-assertions -Coverflow-checks"
cargo build --release --locked --target "$triple" -p tao-fuzz --bins

mkdir -p target/fuzz-artifacts
for name in "${targets[@]}"; do
    mkdir -p "target/fuzz-corpus/$name"
    echo "==> fuzzing $name for ${seconds}s"
    "target/$triple/release/$name" "target/fuzz-corpus/$name" "crates/fuzz/corpus/$name" \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
        -print_final_stats=1 -artifact_prefix="target/fuzz-artifacts/$name-" 2>&1 |
        grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::new_units_added|==[0-9]+==|SUMMARY|.*panicked|.*Test unit written)' || true
    if ls "target/fuzz-artifacts/$name-"* >/dev/null 2>&1; then
        echo "fuzz target $name found a crash: target/fuzz-artifacts/$name-*" >&2
        exit 1
    fi
done
