#!/usr/bin/env bash
# Measures `pedigree bench --server` against one `pedigree serve` process and
# then against a three-node loopback cluster (embedded NATS servers forming
# one JetStream cluster, --stream-replicas 3), in one run on one machine, and
# prints both tables, the machine's load, and what each node process cost:
# CPU seconds, peak RSS, and its data directory's Pebble and JetStream bytes.
#
#   bench/cluster.sh                     # 1m of timed phases per run
#   DURATION=2m COMMISSION=200000 bench/cluster.sh
#
# The bench drives node 1 (writes go through its NATS and API; it answers a
# write once it has applied it); nodes 2 and 3 apply the same stream and
# are caught up before their costs are read. Every node publishes signed
# outcomes, so the bench believes all three node keys: an ingest phase
# ends when the first node has committed its last marker. On a machine with fewer cores
# than nodes, the nodes compete for them: the ratio of the two runs is the
# figure to read, not the absolute rates. Everything runs under a temporary
# directory, removed at the end; the JSON results stay in $OUT.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-1m}
COMMISSION=${COMMISSION:-50000}
OUT=${OUT:-$(mktemp -d -t pedigree-cluster-bench-out.XXXX)}
work=$(mktemp -d -t pedigree-cluster-bench.XXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/pedigree" ./cmd/pedigree
P="$work/pedigree"
# The bench's load exceeds the per-party budgets: they are off here.
OPEN="--read-rate 0 --write-rate 0 --public-rate 0 --bulk-per-party 0 --nats-publish-rate 10000000 --log-level warn"

# wait_ready METRICS: until the node's operator /readyz answers ready.
wait_ready() {
  for _ in $(seq 600); do
    if [ "$(curl -s "http://$1/readyz" 2>/dev/null)" = "ready" ]; then return 0; fi
    sleep 0.2
  done
  echo "node at $1 never became ready: $(curl -s "http://$1/readyz")" >&2
  return 1
}

# cpu PID: user+system CPU seconds of a process so far.
cpu() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.1f", ($14+$15)/hz}' "/proc/$1/stat"; }
# peak_rss PID: its peak resident set, MiB.
peak_rss() { awk '/VmHWM/ {printf "%.0f", $2/1024}' "/proc/$1/status"; }
# bytes DIR: bytes under DIR.
bytes() { du -sb "$1" | cut -f1; }

# run_bench NAME DATA GRPC HTTP NATS METRICS NODEKEYS: the bench against
# that node, believing outcomes signed by the node keys NODEKEYS (every
# node publishes them).
run_bench() {
  local name=$1 data=$2
  echo "== bench against $name (load average: $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  "$P" bench --server "$4" --grpc "$3" --nats "nats://$5" --metrics "$6" \
    --token "$(cat "$data/admin.token")" --node-key "$7" --nats-admin-key "$data/keys/nats.key" \
    --duration "$DURATION" --commission "$COMMISSION" --json > "$OUT/$name.json"
  echo "   load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
}

# report NAME PID DATA CPU0: what one node process cost during the run.
report() {
  printf '%-8s cpu %6ss  peak RSS %5s MiB  pebble %6.1f MiB  jetstream %6.1f MiB\n' "$1" \
    "$(awk -v a="$(cpu "$2")" -v b="$4" 'BEGIN{printf "%.1f", a-b}')" "$(peak_rss "$2")" \
    "$(awk -v b="$(bytes "$3/pebble")" 'BEGIN{print b/1048576}')" "$(awk -v b="$(bytes "$3/nats")" 'BEGIN{print b/1048576}')"
}

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo), load average $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$OUT/machine.txt" >&2

# One node.
one="$work/one"
$P serve --data "$one" --grpc 127.0.0.1:7170 --http 127.0.0.1:8180 --metrics 127.0.0.1:9190 --nats-listen 127.0.0.1:4320 $OPEN 2>"$work/one.log" &
pid_one=$!; pids+=("$pid_one")
wait_ready 127.0.0.1:9190
cpu_one=$(cpu "$pid_one")
run_bench one "$one" 127.0.0.1:7170 127.0.0.1:8180 127.0.0.1:4320 127.0.0.1:9190 "$one/keys/node.pub"
report one "$pid_one" "$one" "$cpu_one" | tee "$OUT/costs.txt"
kill "$pid_one"; wait "$pid_one" || true

# Three nodes: the README's loopback cluster, with other ports.
openssl rand -base64 48 > "$work/route.secret"; chmod 600 "$work/route.secret"
R=nats://127.0.0.1:6322,nats://127.0.0.1:6323,nats://127.0.0.1:6324
C="--nats-routes $R --nats-cluster-credentials $work/route.secret --stream-replicas 3 $OPEN"
declare -A PID DATA
for i in 1 2 3; do
  DATA[$i]="$work/n$i"
  join=""; [ "$i" -gt 1 ] && join="--join"
  $P serve --data "${DATA[$i]}" --node-name "n$i" --grpc "127.0.0.1:717$i" --http "127.0.0.1:818$i" --metrics "127.0.0.1:919$i" \
    --nats-listen "127.0.0.1:432$i" --nats-cluster-listen "127.0.0.1:632$((i + 1))" $C $join 2>"$work/n$i.log" &
  PID[$i]=$!; pids+=("${PID[$i]}")
done
wait_ready 127.0.0.1:9191
for i in 2 3; do
  for _ in $(seq 100); do [ -f "${DATA[$i]}/keys/node.pub" ] && break; sleep 0.1; done
  $P node add --name "n$i" --key "${DATA[$i]}/keys/node.pub" --server 127.0.0.1:7171 --token "$(cat "${DATA[1]}/admin.token")" >/dev/null
done
for i in 2 3; do wait_ready "127.0.0.1:919$i"; done
declare -A CPU0
for i in 1 2 3; do CPU0[$i]=$(cpu "${PID[$i]}"); done
run_bench three "${DATA[1]}" 127.0.0.1:7171 127.0.0.1:8181 127.0.0.1:4321 127.0.0.1:9191 \
  "${DATA[1]}/keys/node.pub,${DATA[2]}/keys/node.pub,${DATA[3]}/keys/node.pub"
# Every node has applied the whole stream (same checkpoint size) before
# its costs are read.
size() { curl -s "http://127.0.0.1:818$1/v1/ledger/checkpoint" | sed -n 's/.*"size": *"\{0,1\}\([0-9]*\).*/\1/p'; }
for _ in $(seq 600); do
  s1=$(size 1); s2=$(size 2); s3=$(size 3)
  [ -n "$s1" ] && [ "$s1" = "$s2" ] && [ "$s1" = "$s3" ] && break
  sleep 0.5
done
echo "ledger sizes after the run: n1 $s1, n2 $s2, n3 $s3" | tee -a "$OUT/costs.txt"
for i in 1 2 3; do report "n$i" "${PID[$i]}" "${DATA[$i]}" "${CPU0[$i]}"; done | tee -a "$OUT/costs.txt"
echo "results: $OUT/one.json, $OUT/three.json, $OUT/costs.txt" >&2
