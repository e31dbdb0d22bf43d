#!/usr/bin/env bash
# Rapid Reset under load: how much of a well-behaved client's throughput
# and how little memory sluice gives up while attackers reset streams at
# full speed (issue 6, DESIGN.md 3.7).
#
#   bench/attack.sh                 # 10 s baseline, then 10 s under attack
#   DUR=20 CONNS=8 BATCH=64 bench/attack.sh
#   PAUSE=0 bench/attack.sh         # attackers never pause (see below)
#
# 1. baseline: h2load (16 connections x 32 streams, GET /small, 64-byte
#    answers) alone against sluice's h2c listener for DUR seconds;
# 2. attack: the same h2load run while bench/attack opens CONNS
#    connections that send HEADERS + RST_STREAM pairs as fast as they can
#    write, redialing each time sluice ends one with GOAWAY.
# Printed: req/s of both runs and their ratio (the target: >= 50%),
# sluice's RSS when idle and its peak during the attack (target: <= 2x
# idle), the attacker's counts, how many attack requests reached the
# backend, sluice's flood counters, and the load average (the figures
# mean little on a busy machine).
#
# sluice runs with GOMAXPROCS=1 pinned to CPU 0 (PROXY_CPU); h2load, the
# attackers and the origin share CPU 1 (LOAD_CPU). On a two-core machine
# the attackers compete with h2load for that core, so by default each
# attacking connection, after a write, gives sluice PAUSE (50 ms) to end
# it before writing more: sluice reads only the first 50 resets of a
# connection anyway, and a sluice whose defence failed still gets a
# continuous attack. PAUSE=0 writes without pause (a remote attacker's
# way), which mostly measures the load core being starved.
# Needs: go, h2load.
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${DUR:-10}
CONNS=${CONNS:-4}
PROXY_CPU=${PROXY_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
[ "$(nproc)" -ge 2 ] || LOAD_CPU=0
command -v h2load >/dev/null || { echo "h2load is missing (apt-get install nghttp2-client)" >&2; exit 1; }

OUT=$(mktemp -d /tmp/sluice-attack-XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$OUT"; }
trap cleanup EXIT

echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
# Free loopback ports, chosen now (other benchmarks may hold fixed ones).
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
LP=$(port); BP=$(port); MP=$(port)
go build -o "$OUT/sluice" ./cmd/sluice
go build -o "$OUT/attack" ./bench/attack

cat > "$OUT/sluice.toml" <<TOML
log_level = "error"
access_log = "off"
metrics_address = "127.0.0.1:$MP"
[[listeners]]
address = "127.0.0.1:$LP"
protocol = "http"
front_timeout = 600
[clusters.bench]
frontends = [ { address = "127.0.0.1:$LP", hostname = "localhost" } ]
backends = [ { address = "127.0.0.1:$BP" } ]
TOML

taskset -c "$LOAD_CPU" "$OUT/attack" -serve 127.0.0.1:$BP & PIDS+=($!)
GOMAXPROCS=1 taskset -c "$PROXY_CPU" "$OUT/sluice" run -c "$OUT/sluice.toml" >"$OUT/sluice.log" 2>&1 & SPID=$!; PIDS+=($SPID)
for _ in $(seq 50); do
  (exec 3<>/dev/tcp/127.0.0.1/$LP) 2>/dev/null && (exec 3<>/dev/tcp/127.0.0.1/$BP) 2>/dev/null && break
  sleep 0.1
done

rss() { awk '/VmRSS/{print $2}' "/proc/$SPID/status"; }
cpu_ticks() { awk '{print $14+$15}' "/proc/$SPID/stat"; }
TCK=$(getconf CLK_TCK)
H2LOAD=(h2load -c 16 -m 32 -t1 --connect-to=127.0.0.1:$LP http://localhost:$LP/small)
# rps ARGS...: run h2load for DUR s and print its req/s.
rps() { timeout $((DUR + 30)) taskset -c "$LOAD_CPU" "${H2LOAD[@]}" -D "$DUR" 2>&1 | awk '/^finished in/{print $4} /^requests:/{print "#", $0 > "/dev/stderr"}'; }

timeout 60 taskset -c "$LOAD_CPU" "${H2LOAD[@]}" -n 20000 >/dev/null 2>&1 || true   # warm up pools and caches
sleep 1
IDLE_RSS=$(rss)
echo "# baseline: h2load alone for ${DUR}s"
C0=$(cpu_ticks)
BASE=$(rps)
C1=$(cpu_ticks)
sleep 1
IDLE_RSS2=$(rss)

echo "# attack: $CONNS rapid-reset connections for ${DUR}s, h2load alongside"
PEAK=0
( while kill -0 "$SPID" 2>/dev/null; do r=$(rss); echo "$r"; sleep 0.2; done ) > "$OUT/rss.log" & PIDS+=($!)
taskset -c "$LOAD_CPU" "$OUT/attack" -addr 127.0.0.1:$LP -conns "$CONNS" -batch "${BATCH:-64}" -pause "${PAUSE:-50ms}" -duration "${DUR}s" > "$OUT/attack.out" 2>&1 & APID=$!
sleep 0.5
C2=$(cpu_ticks)
UNDER=$(rps)
C3=$(cpu_ticks)
wait "$APID" || true
PEAK=$(sort -n "$OUT/rss.log" | tail -1)

echo
echo "| run | req/s |"
echo "|-----|-------|"
echo "| baseline | $BASE |"
echo "| under attack | $UNDER |"
python3 - "$BASE" "$UNDER" "$IDLE_RSS" "$IDLE_RSS2" "$PEAK" "$(( C1 - C0 ))" "$(( C3 - C2 ))" "$TCK" "$DUR" <<'PY'
import sys
base, under, idle, idle2, peak, cb, ca, tck, dur = (float(x) for x in sys.argv[1:])
print(f"\nthroughput kept: {100*under/base:.0f}% (target >= 50%)")
print(f"sluice CPU (of its one core): baseline {100*cb/tck/dur:.0f}%, under attack {100*ca/tck/dur:.0f}%")
print(f"RSS: idle {idle:.0f} KiB (after the baseline run {idle2:.0f} KiB), peak under attack {peak:.0f} KiB = {peak/max(idle,idle2):.2f}x idle (target <= 2x)")
PY
cat "$OUT/attack.out"
echo "attack requests that reached the backend: $(curl -s http://127.0.0.1:$BP/stats)"
curl -s http://127.0.0.1:$MP/metrics | grep -E '^sluice_h2_flood_violations_total|^sluice_h2_rst_stream_received_total\{code="CANCEL"\}' || true
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
