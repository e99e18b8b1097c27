#!/usr/bin/env bash
# The sharded key-value store: starts 3 nodes (n1, n2, n3 on 127.0.0.1),
# puts and gets keys through different nodes (each key lives on its owner
# on the hash ring), counts the keys of the cluster with one multicall,
# then kills n3: its keys are gone and the ring gives them new owners.
#
#   examples/kv/run.sh [BUILD_DIR]      (default: build)
#   CLUSTER_SOURCE=etcd examples/kv/run.sh    the nodes find each other
#                                                   through etcd (../common/demo.sh)
#
# Ports: KV_PORT (default 7301) and the next two.
set -euo pipefail
build=${1:-build}
bin="$build/examples/kv"
port=${KV_PORT:-7301}
# shellcheck source=../common/demo.sh
source "$(dirname "$0")/../common/demo.sh"
kv() { "$bin/kv_client" $(client_args) "$@"; }

echo "== starting n1, n2, n3"
for i in 1 2 3; do
    "$bin/kv_node" $(node_args $i) --seconds 120 \
        >"$logs/n$i.log" 2>&1 &
    pids+=($!)
done
for i in 1 2 3; do wait_for "$logs/n$i.log" "ring has 3 nodes"; done
echo "   every node has all three in its hash ring"

keys="apple banana cherry damson elder fig"
echo
echo "== put through n1, n2, n3 in turn: each key is stored on its owner"
vias=(n1 n2 n3)
i=0
for key in $keys; do
    kv --via "${vias[i % 3]}@127.0.0.1" put "$key" "$key-pie"
    i=$((i + 1))
done
echo
echo "== get through n2: forwarded to each key's owner"
for key in $keys; do kv --via n2@127.0.0.1 get "$key"; done
echo
echo "== count: one multicall of Count on every node"
kv count

echo
echo "== killing n3 (pid ${pids[2]}): its keys are lost, the ring re-routes them"
kill -KILL "${pids[2]}"
wait "${pids[2]}" 2>/dev/null || true
for i in 1 2; do wait_for "$logs/n$i.log" "n3 down"; done
grep -h "n3 down" "$logs/n1.log" "$logs/n2.log" | sed 's/^/   /'
kv count
for key in $keys; do kv --via n1@127.0.0.1 get "$key"; done
echo
echo "== put the lost keys again: they land on their new owners"
for key in $keys; do
    if kv --via n1@127.0.0.1 get "$key" | grep -q "not found"; then
        kv --via n2@127.0.0.1 put "$key" "$key-tart"
    fi
done
kv count
echo
echo "kv demo done"
