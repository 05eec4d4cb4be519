#!/usr/bin/env bash
# Scale: N idle TCP connections (default 10,000) held open against the
# course's task-per-client server (scripts/tcp_upper_server_threaded.rhai,
# a task and so an OS thread per client), its resident memory while it
# holds them, and whether every connection still gets its answer. Python's
# threaded server (bench/upper_server_threaded.py) is measured the same way.
# Then the cost of one accept with 100 and with N connections open
# (bench/accept.rhai): registering a socket must take constant time.
#   bench/scale.sh [N]      bench/scale.sh --short   (200 connections, for CI)
set -euo pipefail
cd "$(dirname "$0")/.."
n=10000
[ "${1:-}" = "--short" ] && n=200
[[ "${1:-}" =~ ^[0-9]+$ ]] && n=$1
# Each side needs a descriptor per connection.
ulimit -n $((n + 1024)) 2>/dev/null || ulimit -n "$(ulimit -Hn)"
cargo build --release --quiet
cargo build --release --quiet --bench native
native=$(ls -t target/release/deps/native-* | grep -v '\.d$' | head -1)

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
rss_mib() { awk '/^VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }
threads() { awk '/^Threads/ { print $2 }' "/proc/$1/status"; }

measure() { # name, server command...
    local name=$1; shift
    local log=target/scale-server.log
    "$@" 127.0.0.1:0 >"$log" 2>&1 &
    local server=$! port=""
    for _ in $(seq 100); do
        port=$(sed -n 's/.*listening on port \([0-9]*\).*/\1/p' "$log" | head -1)
        [ -n "$port" ] && break
        sleep 0.05
    done
    [ -n "$port" ] || { echo "$name did not start: $(cat "$log")" >&2; exit 1; }
    local idle
    idle=$(rss_mib "$server")
    coproc HOLD { "$native" hold "$port" "$n"; }
    local held answered
    read -r -t 600 held <&"${HOLD[0]}"
    # Let the server accept and start a task for every connection.
    for _ in $(seq 600); do
        [ "$(grep -c ' connected' "$log")" -ge "$n" ] && break
        sleep 0.1
    done
    local rss tasks before idle_cpu
    rss=$(rss_mib "$server")
    tasks=$(threads "$server")
    # CPU the server uses while every connection is idle, over 3 seconds.
    before=$(cpu_ticks "$server")
    sleep 3
    idle_cpu=$(( ($(cpu_ticks "$server") - before) * 100 / $(getconf CLK_TCK) / 3 ))
    echo go >&"${HOLD[1]}"
    read -r -t 600 answered <&"${HOLD[0]}"
    wait "$HOLD_PID" 2>/dev/null || true
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    printf '%-10s %12s %10s %14s %12s %14s %10s\n' "$name" "${held#held }" "$tasks" "$idle MiB" "$rss MiB" "$idle_cpu%" "${answered#answered }"
}

printf '%-10s %12s %10s %14s %12s %14s %10s\n' server connections threads "rss before" "rss held" "cpu while idle" answered
measure sockrepl target/release/repl scripts/tcp_upper_server_threaded.rhai
measure python python3 bench/upper_server_threaded.py
if python3 -c 'import gevent' 2>/dev/null; then
    measure gevent python3 bench/upper_server_gevent.py
else
    echo "gevent   (skipped: gevent is not installed; pip install gevent)"
fi

# Accepting the N-th connection costs what the 100th did (each needs a
# client socket too, so as many as the descriptor limit allows).
accepts=$n
ulimit -n $((2 * n + 1024)) 2>/dev/null || accepts=$(( ($(ulimit -n) - 1024) / 2 ))
printf '\n%s\n' "$(target/release/repl bench/accept.rhai "$accepts")"
