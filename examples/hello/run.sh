#!/usr/bin/env bash
# Starts a hello server node, greets it from a client node, stops the server.
#   examples/hello/run.sh [BUILD_DIR]      (default: build)
set -euo pipefail
build=${1:-build}
bin="$build/examples/hello"
port=${HELLO_PORT:-5369}
"$bin/hello_server" --port "$port" --seconds 30 &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null || true' EXIT
for _ in $(seq 50); do   # wait (at most 5 s) for the listener
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done
"$bin/hello_client" --port "$port" --who world
