#!/usr/bin/env bash
# The distributed rate limiter, end to end: starts 3 nodes (n1, n2, n3 on
# 127.0.0.1, one port each), sends requests for three IPs through all of
# them, freezes n3 (its checks fall back to local counting), kills it and
# shows the hash ring sending its IPs to the other nodes.
#
#   examples/ratelimiter/run.sh [BUILD_DIR]      (default: build)
#   CLUSTER_SOURCE=etcd examples/ratelimiter/run.sh    the nodes find each other
#                                                   through etcd (../common/demo.sh)
#
# Ports: RATELIMITER_PORT (default 7101) and the next two.
set -euo pipefail
build=${1:-build}
bin="$build/examples/ratelimiter"
port=${RATELIMITER_PORT:-7101}
# shellcheck source=../common/demo.sh
source "$(dirname "$0")/../common/demo.sh"
check() { # check VIA IP COUNT
    "$bin/ratelimiter_client" $(client_args) --via "$1@127.0.0.1" --ip "$2" --count "$3"
}

echo "== starting n1, n2, n3: 5 requests per IP per 60 s"
for i in 1 2 3; do
    "$bin/ratelimiter_node" $(node_args $i) --limit 5 --window 60 \
        --seconds 120 >"$logs/n$i.log" 2>&1 &
    pids+=($!)
done
for i in 1 2 3; do wait_for "$logs/n$i.log" "ring has 3 nodes"; done
echo "   every node has all three in its hash ring"

ips="10.0.0.1 10.0.0.2 10.0.0.7"
echo
echo "== 2 requests per IP through each node: one counter per IP, on its owner"
for ip in $ips; do
    for via in n1 n2 n3; do check "$via" "$ip" 2; done
done

echo
echo "== freezing n3 (SIGSTOP): checks of its IPs time out and fall back to local counting"
kill -STOP "${pids[2]}"
for ip in $ips; do check n1 "$ip" 1; done

echo
echo "== killing n3 (pid ${pids[2]}): node-down removes it from every ring"
kill -KILL "${pids[2]}"
wait "${pids[2]}" 2>/dev/null || true
for i in 1 2; do wait_for "$logs/n$i.log" "n3 down"; done
grep -h "n3 down" "$logs/n1.log" "$logs/n2.log" | sed 's/^/   /'
echo "   n3's IPs now have a new owner (and a fresh counter); the others keep theirs:"
for ip in $ips; do
    for via in n1 n2; do check "$via" "$ip" 1; done
done
echo
echo "ratelimiter demo done"
