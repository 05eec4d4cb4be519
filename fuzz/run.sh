#!/usr/bin/env bash
# Runs every fuzz target for a while: `fuzz/run.sh [SECONDS]` (default 60
# each), `fuzz/run.sh --short` for CI (20 s each). Needs cargo-fuzz; uses
# the nightly toolchain when there is one, else stable with
# RUSTC_BOOTSTRAP=1 (cargo fuzz needs unstable compiler flags).
# New inputs go to target/fuzz-corpus/, so the seeds in corpus/ stay as
# committed; a crash leaves its input in fuzz/artifacts/ and fails the run.
set -euo pipefail
cd "$(dirname "$0")"
seconds=60
[ "${1:-}" = "--short" ] && seconds=20
[[ "${1:-}" =~ ^[0-9]+$ ]] && seconds=$1

if rustup run nightly rustc --version >/dev/null 2>&1; then
    fuzz=(cargo +nightly fuzz)
else
    export RUSTC_BOOTSTRAP=1
    fuzz=(cargo fuzz)
fi
"${fuzz[@]}" build
for target in $("${fuzz[@]}" list); do
    scratch=target/fuzz-corpus/$target
    mkdir -p "$scratch" "corpus/$target"
    echo "== $target for ${seconds}s"
    log=target/fuzz-$target.log
    status=0
    "${fuzz[@]}" run "$target" "$scratch" "corpus/$target" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 >"$log" 2>&1 || status=$?
    grep -E '^stat::(number_of_executed_units|new_units_added)' "$log" || true
    if [ "$status" -ne 0 ]; then
        grep -A20 -E 'panicked|ERROR: libFuzzer' "$log" | head -40 >&2
        echo "fuzz: $target failed; the input is in fuzz/artifacts/$target/, the log in fuzz/$log" >&2
        exit 1
    fi
done
