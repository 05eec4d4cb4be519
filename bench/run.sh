#!/usr/bin/env bash
# Runs each workload with sockrepl (release build) and with Python 3 in the
# same run and prints operations per second and the ratio. Speed is only
# ever compared within one run; nothing here asserts a time.
#   bench/run.sh          full sizes
#   bench/run.sh --short  tiny sizes, to check the benchmark still works (CI)
set -euo pipefail
cd "$(dirname "$0")/.."
short=0
[ "${1:-}" = "--short" ] && short=1
cargo build --release --quiet
repl=target/release/repl

best() { # best of 3 runs of a command printing a rate
    local best=0 rate
    for _ in 1 2 3; do
        rate=$("$@")
        [ "$rate" -gt "$best" ] && best=$rate
    done
    echo "$best"
}

printf '%-22s %14s %14s %8s\n' workload sockrepl/s python/s ratio
for spec in "locked_increments 100000 2000" "queue_items 100000 2000" "spawn_join 5000 100"; do
    set -- $spec
    name=$1; n=$2
    [ $short = 1 ] && n=$3
    ours=$(best "$repl" "bench/$name.rhai" "$n")
    theirs=$(best python3 "bench/$name.py" "$n")
    ratio=$(python3 -c "print(f'{$ours / $theirs:.2f}')")
    printf '%-22s %14s %14s %8s\n' "$name" "$ours" "$theirs" "$ratio"
done
