#!/usr/bin/env bash
# TFTP download speed on loopback, all in one run against the same servers:
#   our client (scripts/tftp.rhai) vs the tftp-hpa client, 512-byte blocks,
#   from tftpd-hpa; then larger blocks and windows, from tftpd-hpa (which
#   ignores windowsize) and from our own server.
#   bench/tftp.sh           a 50 MB file
#   bench/tftp.sh --short   a 2 MB file (CI: keeps the benchmark working)
set -euo pipefail
cd "$(dirname "$0")/.."
size_mb=50
[ "${1:-}" = "--short" ] && size_mb=2
cargo build --release --quiet
repl=$PWD/target/release/repl

work=$(mktemp -d)
cleanup() { kill $hpa_pid $ours_pid 2>/dev/null || true; rm -rf "$work"; }
hpa_pid=; ours_pid=
trap cleanup EXIT
mkdir -p "$work/root" "$work/out"
chmod 755 "$work" "$work/root"
head -c $((size_mb * 1000000)) /dev/urandom > "$work/root/file"
chmod 644 "$work/root/file"
want=$(sha256sum < "$work/root/file")

free_port() { python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
hpa_port=$(free_port)
in.tftpd -L -s -u tftp -a "127.0.0.1:$hpa_port" "$work/root" & hpa_pid=$!
"$repl" scripts/tftp_server.rhai "$work/root" 0 > "$work/ours.log" & ours_pid=$!
for _ in $(seq 50); do grep -q "on port" "$work/ours.log" 2>/dev/null && break; sleep 0.1; done
ours_port=$(sed -n 's/.*on port \([0-9]*\).*/\1/p' "$work/ours.log")
sleep 0.2

# Seconds for one download; fails if the copy differs.
timed() {
    local start end
    rm -f "$work/out/copy"
    start=$(date +%s.%N)
    "$@" > /dev/null
    end=$(date +%s.%N)
    [ "$(sha256sum < "$work/out/copy")" = "$want" ] || { echo "corrupt copy: $*" >&2; exit 1; }
    python3 -c "print($end - $start)"
}
mbps() { python3 -c "print(f'{$size_mb / $1:.1f}')"; }

hpa512=$(timed tftp 127.0.0.1 "$hpa_port" -m octet -c get file "$work/out/copy")
ours512=$(timed "$repl" scripts/tftp.rhai get "127.0.0.1:$hpa_port" file "$work/out/copy")
ours8k=$(timed "$repl" scripts/tftp.rhai get "127.0.0.1:$hpa_port" file "$work/out/copy" --blksize 8192)
ours512_own=$(timed "$repl" scripts/tftp.rhai get "127.0.0.1:$ours_port" file "$work/out/copy")
ours8k16_own=$(timed "$repl" scripts/tftp.rhai get "127.0.0.1:$ours_port" file "$work/out/copy" --blksize 8192 --windowsize 16)

printf '%-52s %8s %8s\n' "download of $size_mb MB" "MB/s" "ratio"
printf '%-52s %8s %8s\n' "tftp-hpa client <- tftpd-hpa, 512" "$(mbps "$hpa512")" "1.00"
printf '%-52s %8s %8s\n' "our client <- tftpd-hpa, 512" "$(mbps "$ours512")" "$(python3 -c "print(f'{$hpa512 / $ours512:.2f}')")"
printf '%-52s %8s %8s\n' "our client <- tftpd-hpa, blksize 8192" "$(mbps "$ours8k")" "$(python3 -c "print(f'{$ours512 / $ours8k:.2f}')") x our 512"
printf '%-52s %8s %8s\n' "our client <- our server, 512" "$(mbps "$ours512_own")" ""
printf '%-52s %8s %8s\n' "our client <- our server, blksize 8192 window 16" "$(mbps "$ours8k16_own")" "$(python3 -c "print(f'{$ours512_own / $ours8k16_own:.2f}')") x our 512"
