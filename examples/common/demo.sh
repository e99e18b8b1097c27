# demo.sh - sourced by the cluster examples' run.sh after they set $port:
#   cluster  "n1@127.0.0.1:$port,n2@...:$((port+1)),n3@...:$((port+2))"
#   logs     a temporary directory for the nodes' logs (removed on exit)
#   pids     the nodes' PIDs, appended by run.sh; every one is resumed (a
#            demo may have stopped it) and killed on exit (etcd's too)
#   wait_for LOG TEXT   waits (at most 30 s: sanitizer builds on a loaded
#                       2-core machine start slowly) until LOG has TEXT, else fails
#   node_args I         the arguments of node nI: its name and where the cluster is
#   client_args         where the cluster is, for the client programs
# CLUSTER_SOURCE=etcd: the nodes find each other through etcd instead of the
# --cluster list: a single etcd (Debian etcd-server) is started on ports
# $port+10 and $port+11 with its data in $logs, and each node registers
# itself with a 3 s lease (docs/multinode.md, "Membership").
cluster="n1@127.0.0.1:$port,n2@127.0.0.1:$((port + 1)),n3@127.0.0.1:$((port + 2))"
logs=$(mktemp -d)
pids=()
etcd_pid=()
cleanup() {
    for pid in "${pids[@]}" "${etcd_pid[@]}"; do kill -CONT "$pid" 2>/dev/null || true; kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}" "${etcd_pid[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$logs"
}
trap cleanup EXIT

wait_for() {
    for _ in $(seq 300); do
        grep -q -- "$2" "$1" && return 0
        sleep 0.1
    done
    echo "run.sh: timed out waiting for \"$2\" in $(basename "$1"):" >&2
    cat "$1" >&2
    exit 1
}

if [ "${CLUSTER_SOURCE:-list}" = etcd ]; then
    if ! command -v etcd >/dev/null; then
        echo "run.sh: CLUSTER_SOURCE=etcd needs etcd (Debian etcd-server): skipped" >&2
        exit 77
    fi
    etcd_url="http://127.0.0.1:$((port + 10))"
    etcd --name demo --data-dir "$logs/etcd" --listen-client-urls "$etcd_url" \
        --advertise-client-urls "$etcd_url" --listen-peer-urls "http://127.0.0.1:$((port + 11))" \
        --initial-advertise-peer-urls "http://127.0.0.1:$((port + 11))" \
        --initial-cluster "demo=http://127.0.0.1:$((port + 11))" >"$logs/etcd.log" 2>&1 &
    etcd_pid=($!)
    wait_for "$logs/etcd.log" "ready to serve client requests"
    echo "== etcd at $etcd_url: the nodes register there and learn each other from it"
    node_args() { echo "--name n$1@127.0.0.1 --etcd $etcd_url --port $((port + $1 - 1)) --ttl 3"; }
    client_args() { echo "--etcd $etcd_url"; }
else
    node_args() { echo "--name n$1@127.0.0.1 --cluster $cluster"; }
    client_args() { echo "--cluster $cluster"; }
fi
