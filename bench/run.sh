#!/usr/bin/env bash
# Load-test sluice with h2load against a local backend and print, per
# scenario, requests/s, p50/p99 latency, sluice's CPU-microseconds per
# request and its RSS. Loopback only; every run is bounded in time.
#
#   bench/run.sh                  # all scenarios, 5 s each
#   DUR=10 bench/run.sh h1 h2c    # some scenarios, longer
#
# Scenarios: h1 (HTTP/1.1 keep-alive, 64 connections), h2c (16 connections
# x 32 streams), h2 (TLS, same shape), big (TLS h2, 1 MiB responses),
# lat (TLS h2 at a fixed 4,000 req/s, for latency). sluice runs with
# GOMAXPROCS=1 pinned to CPU 0 (PROXY_CPU), the load generator and the
# backend share CPU 1 (LOAD_CPU) when the machine has two cores.
# Needs: go, h2load (Debian: nghttp2-client), openssl. Side-by-side figures
# against other proxies come from ../shared/bench/sluice.sh when present.
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${DUR:-5}
PROXY_CPU=${PROXY_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
[ "$(nproc)" -ge 2 ] || LOAD_CPU=0
SCENARIOS=("$@")
[ ${#SCENARIOS[@]} -gt 0 ] || SCENARIOS=(h1 h2c h2 big lat)
command -v h2load >/dev/null || { echo "h2load is missing (apt-get install nghttp2-client)" >&2; exit 1; }

OUT=$(mktemp -d /tmp/sluice-bench-XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$OUT"; }
trap cleanup EXIT

echo "# building into $OUT"
go build -o "$OUT/sluice" ./cmd/sluice
go build -o "$OUT/backend" ./bench/backend
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
  -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout "$OUT/key.pem" -out "$OUT/cert.pem" 2>/dev/null

cat > "$OUT/sluice.toml" <<TOML
log_level = "warn"
access_log = "off"
[[listeners]]
address = "127.0.0.1:18700"
protocol = "http"
front_timeout = 600
[[listeners]]
address = "127.0.0.1:18702"
protocol = "https"
front_timeout = 600
[clusters.bench]
frontends = [
  { address = "127.0.0.1:18700", hostname = "localhost" },
  { address = "127.0.0.1:18702", hostname = "localhost", certificate = "$OUT/cert.pem", key = "$OUT/key.pem" },
]
backends = [ { address = "127.0.0.1:18780" } ]
TOML

taskset -c "$LOAD_CPU" "$OUT/backend" -addr 127.0.0.1:18780 & PIDS+=($!)
GOMAXPROCS=1 taskset -c "$PROXY_CPU" "$OUT/sluice" run -c "$OUT/sluice.toml" >"$OUT/sluice.log" 2>&1 & SPID=$!; PIDS+=($SPID)
for _ in $(seq 50); do
  (exec 3<>/dev/tcp/127.0.0.1/18700) 2>/dev/null && (exec 3<>/dev/tcp/127.0.0.1/18780) 2>/dev/null && break
  sleep 0.1
done

cpu_ticks() { awk '{print $14+$15}' "/proc/$SPID/stat"; }
TCK=$(getconf CLK_TCK)

# run NAME ARGS...: h2load for DUR seconds (after a 1 s warm-up), then the figures.
run() {
  local name=$1; shift
  local log="$OUT/$name.lat"
  timeout $((DUR + 30)) taskset -c "$LOAD_CPU" h2load -n 2000 "$@" >/dev/null 2>&1 || true   # warm pools and caches
  local t0; t0=$(cpu_ticks)
  local res; res=$(timeout $((DUR + 30)) taskset -c "$LOAD_CPU" h2load -D "$DUR" --log-file="$log" "$@" 2>&1 || true)
  local t1; t1=$(cpu_ticks)
  local reqs ok fail rps
  reqs=$(echo "$res" | awk '/^requests:/{print $2}')
  ok=$(echo "$res" | awk '/^status codes:/{print $3}')
  fail=$(echo "$res" | awk '/^requests:/{print $10}')
  rps=$(echo "$res" | awk '/^finished in/{print $4}')
  local pct; pct=$(awk -F'\t' '{print $3}' "$log" 2>/dev/null | sort -n | awk '{a[NR]=$1} END {if (NR) printf "%.2f %.2f", a[int(NR*0.5)]/1000, a[int(NR*0.99)]/1000; else print "- -"}')
  local rss; rss=$(awk '/VmRSS/{print $2}' "/proc/$SPID/status")
  local cpu; cpu=$(python3 -c "print('%.1f' % ((($t1)-($t0))*1e6/$TCK/max(1,${ok:-0})))" 2>/dev/null || echo -)
  printf "| %-5s | %10s | %8s | %8s | %9s | %8s | %s |\n" "$name" "${rps:--}" ${pct} "$cpu" "$rss" "ok=${ok:-0} failed=${fail:-?}"
}

# Every request carries the authority "localhost"; h2load connects to
# 127.0.0.1 whatever localhost resolves to.
CT1=--connect-to=127.0.0.1:18700
CT2=--connect-to=127.0.0.1:18702
echo
echo "| scen  |      req/s |  p50 ms |  p99 ms | CPU us/req | RSS KiB | requests |"
echo "|-------|------------|---------|---------|------------|---------|----------|"
for s in "${SCENARIOS[@]}"; do
  case $s in
    h1)  run h1  --h1 -c 64 -t1 $CT1 http://localhost:18700/small ;;
    h2c) run h2c -c 16 -m 32 -t1 $CT1 http://localhost:18700/small ;;
    h2)  run h2  -c 16 -m 32 -t1 $CT2 https://localhost:18702/small ;;
    big) run big -c 8 -m 4 -t1 $CT2 https://localhost:18702/1m ;;
    lat) run lat -c 16 -m 32 -t1 --rps 250 $CT2 https://localhost:18702/small ;;
    *) echo "unknown scenario $s" >&2; exit 2 ;;
  esac
done
echo
echo "(one core for sluice, GOMAXPROCS=1; CPU us/req counts sluice's user+sys time only; big: per 1 MiB response)"
