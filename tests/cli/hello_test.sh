#!/usr/bin/env bash
# The genrpc command against the hello example's server process
# (examples/hello): every subcommand, as a user would type it.
#   tests/cli/hello_test.sh GENRPC HELLO_SERVER
# Starts one hello_server on an ephemeral port, ends it (by its PID) on exit;
# every wait is bounded.
set -euo pipefail
cli=$1 server_bin=$2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/genrpc-cli-hello.XXXXXX")
server=
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

: >"$tmp/server.log"  # exists before the loop reads it (a & job opens it in the child)
"$server_bin" --name hello@127.0.0.1 --port 0 --cookie hello-cookie --seconds 120 >"$tmp/server.log" 2>&1 &
server=$!
port=
for _ in $(seq 100); do   # at most 10 s for "... on port N"
  port=$(sed -n 's/.* on port \([0-9]*\)$/\1/p' "$tmp/server.log")
  [ -n "$port" ] && break
  kill -0 "$server" 2>/dev/null || { cat "$tmp/server.log" >&2; fail "hello_server exited"; }
  sleep 0.1
done
[ -n "$port" ] || fail "hello_server printed no port within 10 s"
echo hello-cookie >"$tmp/cookie"
g() { timeout 30 "$cli" "$@" --cookie-file "$tmp/cookie" --port "$port"; }
expect() {  # expect STATUS OUTPUT-PATTERN COMMAND... (pattern EMPTY: no output at all)
  local want=$1 pattern=$2 rc=0
  shift 2
  g "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
  [ "$rc" -eq "$want" ] || { cat "$tmp/err" >&2; fail "genrpc $* exited $rc, not $want"; }
  if [ "$pattern" = EMPTY ]; then
    [ ! -s "$tmp/out" ] && [ ! -s "$tmp/err" ] || { cat "$tmp/out" "$tmp/err" >&2; fail "genrpc $*: output"; }
  else
    grep -q -- "$pattern" "$tmp/out" "$tmp/err" ||
      { cat "$tmp/out" "$tmp/err" >&2; fail "genrpc $*: no '$pattern' in its output"; }
  fi
  echo "ok: genrpc $* -> $rc"
}

expect 0 '^pong from hello@127.0.0.1 in ' ping hello@127.0.0.1
expect 0 '"name": "hello.Greeter"' list hello@127.0.0.1
expect 0 '"hello.GreetReply"' describe hello@127.0.0.1 hello.Greeter
expect 0 'rpc Greet(.hello.GreetRequest) returns (.hello.GreetReply)' \
  describe hello@127.0.0.1 hello.Greeter --proto
expect 0 '"greeting":"Hello, shell!"' call hello@127.0.0.1 hello.Greeter/Greet '{"name": "shell"}'
expect 0 '"count":"2"' call hello@127.0.0.1 hello.Greeter/Greet '{"name": "again"}'
expect 0 EMPTY cast hello@127.0.0.1 hello.Greeter/Greet '{"name": "cast"}'
expect 0 '"count":"4"' call hello@127.0.0.1 hello.Greeter/Greet '{"name": "after the cast"}'
expect 6 'tell me your name (handler code 400)' call hello@127.0.0.1 hello.Greeter/Greet '{}'
expect 3 'not a hello.GreetRequest in JSON' call hello@127.0.0.1 hello.Greeter/Greet '{"nme": 1}'
expect 4 'has no function Wave' call hello@127.0.0.1 hello.Greeter/Wave '{}'
expect 0 '^SERVING$' health hello@127.0.0.1
expect 0 '^SERVING$' health hello@127.0.0.1 hello.Greeter
expect 4 '^SERVICE_UNKNOWN$' health hello@127.0.0.1 hello.Nope
expect 0 '"HANDLER": 1' stats hello@127.0.0.1 --json   # the Greet call without a name
expect 0 '^      Greet$' stats hello@127.0.0.1
expect 0 '^hello.Greeter/Greet  *0.0  *0.0  *5  *1 ' top hello@127.0.0.1 --once --interval 100
echo "all subcommands answered"
