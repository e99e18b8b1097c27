#!/usr/bin/env bash
# Starts hello_server on a free port, greets it with hello_client, stops it.
#   ./run.sh [DIR] [SUFFIX]   (the programs DIR/hello_server$SUFFIX ...; default .)
# Exits with the client's status; prints the greeting.
set -euo pipefail
dir=${1:-.}
suffix=${2:-}
out=$(mktemp)
server=
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -f "$out"
}
trap cleanup EXIT
"$dir/hello_server$suffix" 0 >"$out" &
server=$!
port=
for _ in $(seq 100); do   # at most 10 s for the server to listen
  port=$(sed -n 's/^listening on port \([0-9]*\)$/\1/p' "$out")
  [ -n "$port" ] && break
  kill -0 "$server" 2>/dev/null || { echo "run.sh: hello_server exited" >&2; exit 1; }
  sleep 0.1
done
if [ -z "$port" ]; then
  echo "run.sh: hello_server did not start listening within 10 s" >&2
  exit 1
fi
timeout 20 "$dir/hello_client$suffix" "$port" "${GREET_NAME:-standalone}"
