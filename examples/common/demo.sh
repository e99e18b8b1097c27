# demo.sh - sourced by the cluster examples' run.sh after they set $port:
#   cluster  "n1@127.0.0.1:$port,n2@...:$((port+1)),n3@...:$((port+2))"
#   logs     a temporary directory for the nodes' logs (removed on exit)
#   pids     the nodes' PIDs, appended by run.sh; every one is resumed (a
#            demo may have stopped it) and killed on exit
#   wait_for LOG TEXT   waits (at most 30 s: sanitizer builds on a loaded
#                       2-core machine start slowly) until LOG has TEXT, else fails
cluster="n1@127.0.0.1:$port,n2@127.0.0.1:$((port + 1)),n3@127.0.0.1:$((port + 2))"
logs=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -CONT "$pid" 2>/dev/null || true; kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
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
