#!/usr/bin/env bash
# HTTP/2 toward backends, in one run: h2load (h2c, 16 connections x 32
# streams) through
#   sluice-h1back   sluice, h2c front -> HTTP/1.1 backend pool
#   sluice-h2cback  sluice, h2c front -> multiplexed h2c backend pool
#   haproxy-h2back  HAProxy, h2c front -> "proto h2" backend (when installed)
# against the same origin, one after the other, each proxy on one pinned
# core. Prints req/s, CPU-microseconds per request, the connections the
# proxy held open to the origin during the load, and the ratios of the
# h2c-backend path to the other two.
#
#   bench/h2backend.sh               # 3 repetitions of 6 s
#   REPS=1 DUR=3 bench/h2backend.sh  # quick look
#
# The origin is nginx (one worker, http2_max_concurrent_streams 128) when
# installed, else bench/backend; it shares LOAD_CPU with h2load. Loopback
# only; every run is bounded in time.
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${DUR:-6}
REPS=${REPS:-3}
PROXY_CPU=${PROXY_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
[ "$(nproc)" -ge 2 ] || LOAD_CPU=0
MCS=128
command -v h2load >/dev/null || { echo "h2load is missing (apt-get install nghttp2-client)" >&2; exit 1; }

OUT=$(mktemp -d /tmp/sluice-h2back-XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$OUT"; }
trap cleanup EXIT

ORIGIN_H1=18880 ORIGIN_H2C=18881 FRONT=18800
echo "# building into $OUT"
go build -o "$OUT/sluice" ./cmd/sluice
if command -v nginx >/dev/null; then
  mkdir -p "$OUT/nginx"
  cat > "$OUT/nginx.conf" <<NGINX
daemon off; master_process off; worker_processes 1; pid $OUT/nginx/pid;
error_log $OUT/nginx/error.log warn;
events { worker_connections 16000; }
http {
  access_log off; keepalive_timeout 600s; keepalive_requests 100000000;
  http2_max_concurrent_streams $MCS;
  client_body_temp_path $OUT/nginx; proxy_temp_path $OUT/nginx; fastcgi_temp_path $OUT/nginx;
  uwsgi_temp_path $OUT/nginx; scgi_temp_path $OUT/nginx;
  server {
    listen 127.0.0.1:$ORIGIN_H1; listen 127.0.0.1:$ORIGIN_H2C http2;
    location = /small { return 200 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"; }
  }
}
NGINX
  taskset -c "$LOAD_CPU" nginx -e "$OUT/nginx/error.log" -c "$OUT/nginx.conf" & PIDS+=($!)
  ORIGIN=nginx
else
  go build -o "$OUT/backend" ./bench/backend
  taskset -c "$LOAD_CPU" "$OUT/backend" -addr 127.0.0.1:$ORIGIN_H1 -h2c & PIDS+=($!)
  ORIGIN_H2C=$ORIGIN_H1   # bench/backend serves both on one port (its MCS is Go's 250)
  MCS=250
  ORIGIN=bench/backend
fi

cat > "$OUT/sluice.toml" <<TOML
log_level = "warn"
access_log = "off"
[[listeners]]
address = "127.0.0.1:$FRONT"
protocol = "http"
front_timeout = 600
[clusters.h1back]
frontends = [ { address = "127.0.0.1:$FRONT", hostname = "h1.test" } ]
backends = [ { address = "127.0.0.1:$ORIGIN_H1" } ]
[clusters.h2cback]
backend_protocol = "h2c"
backend_max_connections = 16
frontends = [ { address = "127.0.0.1:$FRONT", hostname = "h2c.test" } ]
backends = [ { address = "127.0.0.1:$ORIGIN_H2C" } ]
TOML
"$OUT/sluice" check -c "$OUT/sluice.toml" >/dev/null

cat > "$OUT/haproxy.cfg" <<HAP
global
  nbthread 1
  maxconn 9000
defaults
  mode http
  http-reuse always
  timeout connect 5s
  timeout client 600s
  timeout server 600s
frontend fe
  bind 127.0.0.1:$FRONT proto h2
  default_backend be
backend be
  server s1 127.0.0.1:$ORIGIN_H2C proto h2
HAP

wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; return 1; }
wait_port $ORIGIN_H1 && wait_port $ORIGIN_H2C || { echo "origin did not start" >&2; exit 1; }
TCK=$(getconf CLK_TCK)

# bench NAME HOST CMD...: start the proxy, warm it, load it for DUR seconds,
# sample its origin connections halfway through, stop it, print a row.
bench() {
  local name=$1 host=$2; shift 2
  "$@" >"$OUT/$name.log" 2>&1 & local pid=$!
  wait_port $FRONT || { echo "$name did not start" >&2; tail -5 "$OUT/$name.log" >&2; kill $pid; return 1; }
  local url="http://$host:$FRONT/small" ct="--connect-to=127.0.0.1:$FRONT"
  timeout 30 taskset -c "$LOAD_CPU" h2load -n 5000 -c 16 -m 32 -t1 $ct "$url" >/dev/null 2>&1 || true
  local t0; t0=$(awk '{print $14+$15}' "/proc/$pid/stat")
  (sleep $((DUR / 2)); ss -Htn state established "( dport = :$ORIGIN_H1 or dport = :$ORIGIN_H2C )" | wc -l > "$OUT/$name.conns") &
  local res; res=$(timeout $((DUR + 30)) taskset -c "$LOAD_CPU" h2load -D "$DUR" -c 16 -m 32 -t1 $ct "$url" 2>&1 || true)
  local t1; t1=$(awk '{print $14+$15}' "/proc/$pid/stat")
  wait %% 2>/dev/null || true
  kill $pid; wait $pid 2>/dev/null || true
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$FRONT") 2>/dev/null || break; sleep 0.05; done
  local ok fail rps
  ok=$(echo "$res" | awk '/^status codes:/{print $3}')
  fail=$(echo "$res" | awk '/^requests:/{print $10}')
  rps=$(echo "$res" | awk '/^finished in/{print $4}')
  local cpu; cpu=$(python3 -c "print('%.1f' % ((($t1)-($t0))*1e6/$TCK/max(1,${ok:-0})))")
  printf "| %-15s | %10s | %10s | %12s | %s |\n" "$name" "${rps:--}" "$cpu" "$(cat "$OUT/$name.conns" 2>/dev/null || echo -)" "ok=${ok:-0} failed=${fail:-?}"
  echo "$name ${rps:-0} $cpu" >> "$OUT/rows"
}

echo "# origin: $ORIGIN (h1 :$ORIGIN_H1, h2c :$ORIGIN_H2C, max concurrent streams $MCS); 512 concurrent streams"
echo "# connection bound for the h2c pool: ceil(512/$MCS)+1 = $(( (512 + MCS - 1) / MCS + 1 ))"
echo
echo "| proxy           |      req/s | CPU us/req | origin conns | requests |"
echo "|-----------------|------------|------------|--------------|----------|"
for rep in $(seq "$REPS"); do
  GOMAXPROCS=1 bench sluice-h1back h1.test taskset -c "$PROXY_CPU" "$OUT/sluice" run -c "$OUT/sluice.toml"
  GOMAXPROCS=1 bench sluice-h2cback h2c.test taskset -c "$PROXY_CPU" "$OUT/sluice" run -c "$OUT/sluice.toml"
  if command -v haproxy >/dev/null; then
    bench haproxy-h2back h2c.test taskset -c "$PROXY_CPU" haproxy -db -f "$OUT/haproxy.cfg"
  fi
done
echo
python3 - "$OUT/rows" <<'PY'
import sys, statistics
rows = {}
for line in open(sys.argv[1]):
    name, rps, cpu = line.split()
    rows.setdefault(name, []).append((float(rps), float(cpu)))
med = {k: (statistics.median(r for r, _ in v), statistics.median(c for _, c in v)) for k, v in rows.items()}
base = med.get("sluice-h2cback")
if base:
    for other in ("sluice-h1back", "haproxy-h2back"):
        if other in med:
            print(f"sluice-h2cback / {other}: req/s x{base[0]/med[other][0]:.2f}, CPU us/req x{base[1]/med[other][1]:.2f}  (medians of {len(rows[other])})")
PY
