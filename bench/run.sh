#!/usr/bin/env bash
# sockrepl against Python 3 on the course's workloads, and against native
# Rust (std::net, benches/native.rs) where there is a network ceiling. All
# in the same run; prints rates and ratios. Nothing asserts a speed.
#   bench/run.sh          full sizes (a few minutes)
#   bench/run.sh --short  tiny sizes, to check the benchmark still works (CI)
# Rates are operations per second (bytes per second for tcp_bulk),
# the best of 3 runs; startup is the median of many runs, in ms (lower is
# better, so its ratio is ours/python time).
set -euo pipefail
cd "$(dirname "$0")/.."
short=0
[ "${1:-}" = "--short" ] && short=1
cargo build --release --quiet
cargo build --release --quiet --bench native
repl=target/release/repl
native=$(ls -t target/release/deps/native-* | grep -v '\.d$' | head -1)

best() { # best of 3 runs of a command printing a rate
    local best=0 rate
    for _ in 1 2 3; do
        rate=$("$@")
        rate=${rate%% *}
        [ "$rate" -gt "$best" ] && best=$rate
    done
    echo "$best"
}
ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }

# Starts a server command with its output in a file and waits for its
# "listening on port N" line; sets server_pid and port.
start_server() {
    local log=$1; shift
    "$@" >"$log" 2>&1 &
    server_pid=$!
    for _ in $(seq 100); do
        port=$(sed -n 's/.*listening on port \([0-9]*\).*/\1/p' "$log" | head -1)
        [ -n "$port" ] && return
        sleep 0.05
    done
    echo "server did not start: $(cat "$log")" >&2
    exit 1
}
# Runs the native load generator against a server script: prints requests/s.
against() {
    start_server target/bench-server.log "$@"
    local out
    out=$("$native" clients "$port" "$clients" "$requests")
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    local errors=${out##* }
    if [ "$errors" != 0 ]; then
        echo "$* : $errors clients failed" >&2
        exit 1
    fi
    echo "${out%% *}"
}

printf '%-18s %13s %13s %7s %13s %9s   %s\n' workload sockrepl python ratio native of-native target
row() { # name ours theirs [native] target
    local of_native=- native=${4:--}
    [ "$native" != - ] && of_native=$(ratio "$2" "$native")
    printf '%-18s %13s %13s %7s %13s %9s   %s\n' "$1" "$2" "$3" "$(ratio "$2" "$3")" "$native" "$of_native" "$5"
}

n_rt=20000; n_bulk=100; clients=200; requests=100; n_lock=100000; n_queue=100000; n_spawn=5000; runs=30
if [ $short = 1 ]; then
    n_rt=500; n_bulk=2; clients=20; requests=10; n_lock=2000; n_queue=2000; n_spawn=100; runs=3
fi

for name in tcp_roundtrip udp_pingpong; do
    row "$name" "$(best "$repl" "bench/$name.rhai" "$n_rt")" "$(best python3 "bench/$name.py" "$n_rt")" \
        "$(best "$native" "$name" "$n_rt")" ">=2x python, >=0.5 native"
done
row tcp_bulk "$(best "$repl" bench/tcp_bulk.rhai "$n_bulk")" "$(best python3 bench/tcp_bulk.py "$n_bulk")" \
    "$(best "$native" tcp_bulk "$n_bulk")" ">=0.8 native (bytes/s)"
row "clients_${clients}x$requests" \
    "$(best against "$repl" scripts/tcp_upper_server_threaded.rhai 127.0.0.1:0)" \
    "$(best against python3 bench/upper_server_threaded.py 127.0.0.1:0)" - ">=2x python (requests/s)"
row locked_increments "$(best "$repl" bench/locked_increments.rhai "$n_lock")" \
    "$(best python3 bench/locked_increments.py "$n_lock")" - ">=1x python"
row queue_items "$(best "$repl" bench/queue_items.rhai "$n_queue")" \
    "$(best python3 bench/queue_items.py "$n_queue")" - ">=1x python"
row spawn_join "$(best "$repl" bench/spawn_join.rhai "$n_spawn")" \
    "$(best python3 bench/spawn_join.py "$n_spawn")" - ">=5x python"
row startup_ms "$(python3 bench/startup.py "$runs" "$repl" -e 'print(1)')" \
    "$(python3 bench/startup.py "$runs" python3 -c 'print(1)')" - "<=0.33 (time, lower is better)"
