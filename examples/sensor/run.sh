#!/usr/bin/env bash
# Starts the hub (a full genrpc node), runs the sensor device (the embedded
# client) against it, stops the hub.
#   examples/sensor/run.sh [BUILD_DIR]      (default: build)
# SENSOR_PORT: the hub's port (default 5380; 0 = any free port).
set -euo pipefail
build=${1:-build}
bin="$build/examples/sensor"
out=$(mktemp)
"$bin/sensor_hub" --port "${SENSOR_PORT:-5380}" --seconds 30 >"$out" &
hub=$!
trap 'kill "$hub" 2>/dev/null; wait "$hub" 2>/dev/null || true; rm -f "$out"' EXIT
port=
for _ in $(seq 100); do   # wait (at most 10 s) for its PORT line
  port=$(sed -n 's/^PORT //p' "$out")
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { echo "run.sh: the hub did not start" >&2; exit 1; }
echo "hub: serving sensor.Hub on port $port"
"$bin/sensor_device" --port "$port"
