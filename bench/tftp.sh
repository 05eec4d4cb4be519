#!/usr/bin/env bash
# TFTP transfer times, all in one run against the same servers:
#   1. loopback downloads: our client (scripts/tftp.rhai) vs the tftp-hpa
#      client, 512-byte blocks, from tftpd-hpa; then larger blocks and
#      windows, from tftpd-hpa (which ignores windowsize) and our server.
#   2. through a relay that drops 10% and duplicates 5% of the packets in
#      each direction (seeded: each row gets a fresh relay, same seed): our
#      client and server against tftp-hpa and tftpd-hpa, both directions.
#   3. windowed uploads to a receiver that drops the tail of long bursts
#      (a relay that lets at most 8 packets in a row through).
#   bench/tftp.sh           50 MB on loopback, 100 kB through the lossy relay
#   bench/tftp.sh --short   2 MB and 30 kB (CI: keeps the benchmark working)
# tftp-hpa resends only after seconds, so the lossy rows take minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
size_mb=50
lossy_kb=100
[ "${1:-}" = "--short" ] && { size_mb=2; lossy_kb=30; }
cargo build --release --quiet
repl=$PWD/target/release/repl

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
mkdir -p "$work/root" "$work/out" "$work/up-hpa" "$work/up-ours"
chmod 755 "$work" "$work/root"
chmod 777 "$work/up-hpa"
head -c $((size_mb * 1000000)) /dev/urandom > "$work/root/file"
head -c $((lossy_kb * 1000)) /dev/urandom > "$work/root/small"
chmod 644 "$work/root/file" "$work/root/small"

free_port() { python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# Starts "$@" in the background and sets $port from its first line of
# output ("... on port N ..." or just "N").
logs=0
start() {
    local log="$work/log.$((++logs))"
    "$@" > "$log" & pids+=($!)
    for _ in $(seq 100); do [ -s "$log" ] && break; sleep 0.05; done
    port=$(head -1 "$log" | sed -n 's/.*on port \([0-9]*\).*/\1/p; t; s/^\([0-9][0-9]*\)$/\1/p')
}

hpa_port=$(free_port)
in.tftpd -L -s -u tftp -a "127.0.0.1:$hpa_port" "$work/root" & pids+=($!)
hpa_up_port=$(free_port)
in.tftpd -L -s -c -u tftp -a "127.0.0.1:$hpa_up_port" "$work/up-hpa" & pids+=($!)
start "$repl" scripts/tftp_server.rhai "$work/root" 0 --bind 127.0.0.1; ours_port=$port
start "$repl" scripts/tftp_server.rhai "$work/up-ours" 0 --bind 127.0.0.1 --write --overwrite; ours_up_port=$port
sleep 0.2

# A UDP relay for one TFTP client: requests go to the server's port, the
# rest to the port the server last answered from. Drops DROP% and
# duplicates DUP% of the packets each way with a seeded PRNG. BURST (0: no
# limit) models a receiver whose socket buffer holds BURST packets: more
# in a row from one side, with no answer and no 2 ms pause, are dropped.
cat > "$work/relay.py" <<'EOF'
import random, select, socket, sys, time
server_port, drop, dup, burst, seed = (int(a) for a in sys.argv[1:6])
front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); front.bind(("127.0.0.1", 0))
back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); back.bind(("127.0.0.1", 0))
for s in (front, back): s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
print(front.getsockname()[1], flush=True)
rng = random.Random(seed)
client = tid = None
in_a_row = {front: 0, back: 0}
last = {front: 0.0, back: 0.0}
def forward(sock, data, to, source, other):
    now = time.monotonic()
    if now - last[source] > 0.002: in_a_row[source] = 0
    last[source] = now
    in_a_row[source] += 1; in_a_row[other] = 0
    if burst and in_a_row[source] > burst: return
    if rng.random() * 100 < drop: return
    sock.sendto(data, to)
    if rng.random() * 100 < dup: sock.sendto(data, to)
while True:
    for sock in select.select([front, back], [], [])[0]:
        data, sender = sock.recvfrom(70000)
        if sock is front:
            client = sender
            request = data[:2] in (b"\x00\x01", b"\x00\x02")
            forward(back, data, ("127.0.0.1", server_port) if request or tid is None else tid, front, back)
        else:
            tid = sender
            if client: forward(front, data, client, back, front)
EOF
# A fresh relay in front of a server: sets $port to the relay's.
relay() { start python3 "$work/relay.py" "$@"; }

# Seconds for one transfer; fails if the result differs from $2.
timed() {
    local result=$1 original=$2 start end
    shift 2
    rm -f "$result"
    start=$(date +%s.%N)
    "$@" > /dev/null
    end=$(date +%s.%N)
    cmp -s "$result" "$original" || { echo "corrupt or missing copy: $*" >&2; exit 1; }
    python3 -c "print($end - $start)"
}
# The best of three runs: a shared machine makes single loopback runs noisy.
best3() { local a b c; a=$(timed "$@"); b=$(timed "$@"); c=$(timed "$@"); python3 -c "print(min($a, $b, $c))"; }
ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }
mbps() { python3 -c "print(f'{$size_mb / $1:.1f}')"; }
file=$work/root/file small=$work/root/small copy=$work/out/copy

hpa512=$(best3 "$copy" "$file" tftp 127.0.0.1 "$hpa_port" -m octet -c get file "$copy")
ours512=$(best3 "$copy" "$file" "$repl" scripts/tftp.rhai get "127.0.0.1:$hpa_port" file "$copy")
ours8k=$(best3 "$copy" "$file" "$repl" scripts/tftp.rhai get "127.0.0.1:$hpa_port" file "$copy" --blksize 8192)
ours512_own=$(best3 "$copy" "$file" "$repl" scripts/tftp.rhai get "127.0.0.1:$ours_port" file "$copy")
ours8k16_own=$(best3 "$copy" "$file" "$repl" scripts/tftp.rhai get "127.0.0.1:$ours_port" file "$copy" --blksize 8192 --windowsize 16)

printf '%-52s %8s %8s\n' "download of $size_mb MB on loopback (best of 3)" "MB/s" "ratio"
printf '%-52s %8s %8s\n' "tftp-hpa client <- tftpd-hpa, 512" "$(mbps "$hpa512")" "1.00"
printf '%-52s %8s %8s\n' "our client <- tftpd-hpa, 512" "$(mbps "$ours512")" "$(ratio "$hpa512" "$ours512")"
printf '%-52s %8s %8s\n' "our client <- tftpd-hpa, blksize 8192" "$(mbps "$ours8k")" "$(ratio "$ours512" "$ours8k") x our 512"
printf '%-52s %8s %8s\n' "our client <- our server, 512" "$(mbps "$ours512_own")" ""
printf '%-52s %8s %8s\n' "our client <- our server, blksize 8192 window 16" "$(mbps "$ours8k16_own")" "$(ratio "$ours512_own" "$ours8k16_own") x our 512"

# Through the lossy relay; every row gets a new relay with the same seed.
lossy() { relay "$1" 10 5 0 7; }
lossy "$hpa_port"; l_hpa=$(timed "$copy" "$small" tftp 127.0.0.1 "$port" -m octet -c get small "$copy")
lossy "$hpa_port"; l_ours_hpa=$(timed "$copy" "$small" "$repl" scripts/tftp.rhai get "127.0.0.1:$port" small "$copy")
lossy "$ours_port"; l_hpa_ours=$(timed "$copy" "$small" tftp 127.0.0.1 "$port" -m octet -c get small "$copy")
lossy "$ours_port"; l_ours=$(timed "$copy" "$small" "$repl" scripts/tftp.rhai get "127.0.0.1:$port" small "$copy")
lossy "$ours_port"; l_ours_w=$(timed "$copy" "$small" "$repl" scripts/tftp.rhai get "127.0.0.1:$port" small "$copy" --blksize 1428 --windowsize 8)
lossy "$hpa_up_port"; lu_hpa=$(timed "$work/up-hpa/small" "$small" tftp 127.0.0.1 "$port" -m octet -c put "$small" small)
lossy "$ours_up_port"; lu_ours=$(timed "$work/up-ours/small" "$small" "$repl" scripts/tftp.rhai put "127.0.0.1:$port" "$small" small)
lossy "$ours_up_port"; lu_ours_w=$(timed "$work/up-ours/small" "$small" "$repl" scripts/tftp.rhai put "127.0.0.1:$port" "$small" small --blksize 1428 --windowsize 8)

echo
printf '%-52s %8s %8s\n' "$lossy_kb kB through 10% loss, 5% duplication" "seconds" "speed-up"
printf '%-52s %8.2f %8s\n' "tftp-hpa client <- tftpd-hpa, 512" "$l_hpa" "1.00"
printf '%-52s %8.2f %8s\n' "our client <- tftpd-hpa, 512" "$l_ours_hpa" "$(ratio "$l_hpa" "$l_ours_hpa")"
printf '%-52s %8.2f %8s\n' "tftp-hpa client <- our server, 512" "$l_hpa_ours" "$(ratio "$l_hpa" "$l_hpa_ours")"
printf '%-52s %8.2f %8s\n' "our client <- our server, 512" "$l_ours" "$(ratio "$l_hpa" "$l_ours")"
printf '%-52s %8.2f %8s\n' "our client <- our server, blksize 1428 window 8" "$l_ours_w" "$(ratio "$l_hpa" "$l_ours_w")"
printf '%-52s %8.2f %8s\n' "tftp-hpa client -> tftpd-hpa, 512" "$lu_hpa" "1.00"
printf '%-52s %8.2f %8s\n' "our client -> our server, 512" "$lu_ours" "$(ratio "$lu_hpa" "$lu_ours")"
printf '%-52s %8.2f %8s\n' "our client -> our server, blksize 1428 window 8" "$lu_ours_w" "$(ratio "$lu_hpa" "$lu_ours_w")"

# Windowed uploads into a receiver that keeps only 8 packets of a burst.
full() { relay "$1" 0 0 8 7; }
full "$ours_up_port"; t_lock=$(timed "$work/up-ours/file" "$file" "$repl" scripts/tftp.rhai put "127.0.0.1:$port" "$file" file --blksize 8192)
full "$ours_up_port"; t_win=$(timed "$work/up-ours/file" "$file" "$repl" scripts/tftp.rhai put "127.0.0.1:$port" "$file" file --blksize 8192 --windowsize 32)
echo
printf '%-52s %8s %8s\n' "upload of $size_mb MB, receiver drops bursts over 8" "seconds" "speed-up"
printf '%-52s %8.2f %8s\n' "our client -> our server, blksize 8192" "$t_lock" "1.00"
printf '%-52s %8.2f %8s\n' "our client -> our server, blksize 8192 window 32" "$t_win" "$(ratio "$t_lock" "$t_win")"
