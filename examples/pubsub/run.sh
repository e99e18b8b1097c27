#!/usr/bin/env bash
# Publish/subscribe over named handlers: starts 3 nodes (n1 subscribes to
# news, n2 to news and weather, n3 to weather), publishes with abcast (fire
# and forget) and with sbcast (which nodes received it), then kills n3 and
# publishes again.
#
#   examples/pubsub/run.sh [BUILD_DIR]      (default: build)
#
# Ports: PUBSUB_PORT (default 7201) and the next two.
set -euo pipefail
build=${1:-build}
bin="$build/examples/pubsub"
port=${PUBSUB_PORT:-7201}
# shellcheck source=../common/demo.sh
source "$(dirname "$0")/../common/demo.sh"
publish() { # publish VIA TOPIC TEXT [--confirm]
    "$bin/pubsub_client" --cluster "$cluster" --via "$1@127.0.0.1" --topic "$2" --text "$3" "${@:4}"
}

echo "== starting n1 (news), n2 (news, weather), n3 (weather)"
subs=("news" "news,weather" "weather")
for i in 1 2 3; do
    "$bin/pubsub_node" --name "n$i@127.0.0.1" --cluster "$cluster" --subscribe "${subs[i - 1]}" \
        --seconds 120 >"$logs/n$i.log" 2>&1 &
    pids+=($!)
done
for i in 1 2 3; do wait_for "$logs/n$i.log" "on port"; done
cat "$logs"/n*.log | sed 's/^/   /'

echo
echo "== abcast: n3 publishes news to every node; only subscribers print it"
publish n3 news "genrpc 0.1 released"
wait_for "$logs/n1.log" "got news"
wait_for "$logs/n2.log" "got news"
grep -h "got news" "$logs"/n*.log | sed 's/^/   /'

echo
echo "== sbcast: n1 publishes weather and learns who received it"
publish n1 weather "sunny" --confirm
wait_for "$logs/n2.log" "got weather"
wait_for "$logs/n3.log" "got weather"
grep -h "got weather" "$logs"/n*.log | sed 's/^/   /'

echo
echo "== killing n3 (pid ${pids[2]}); n1 publishes weather again"
kill -KILL "${pids[2]}"
wait "${pids[2]}" 2>/dev/null || true
publish n1 weather "rain later" --confirm
echo
echo "pubsub demo done"
