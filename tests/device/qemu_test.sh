#!/usr/bin/env bash
# qemu_test.sh TEST_NODE BUILD_DIR PLUGIN -- the embedded client on a bare-metal
# Cortex-M4 (qemu-system-arm, machine mps2-an386) against a full genrpc node.
#
# Starts TEST_NODE (tests/helpers/test_node.c) on an ephemeral port, then
# qemu with UART 0 bridged to it (a socket chardev to 127.0.0.1:PORT, as
# "-serial tcp:127.0.0.1:PORT" but with TCP_NODELAY: qemu connects, so the
# UART's byte stream is the genrpc connection) running
# BUILD_DIR/device_client.elf (built here by scripts/device-build.sh, its
# stubs by PLUGIN, the host's protoc-gen-genrpc). The
# device authenticates, calls, casts and calls again and prints what it did
# on the semihosting console; a second run uses a wrong cookie and must be
# refused. Every wait is bounded; every process started here is ended here.
# Exit status: 0 pass, 1 fail, 77 skipped (ARM toolchain or qemu missing)
# unless GENRPC_REQUIRE_DEVICE=1.
set -euo pipefail
node_bin=${1:?usage: qemu_test.sh TEST_NODE BUILD_DIR PLUGIN}
build=${2:?usage: qemu_test.sh TEST_NODE BUILD_DIR PLUGIN}
plugin=${3:?usage: qemu_test.sh TEST_NODE BUILD_DIR PLUGIN}
root=$(cd "$(dirname "$0")/../.." && pwd)
QEMU_TIMEOUT=${QEMU_TIMEOUT:-60}

skip() {
  echo "qemu_test: SKIPPED: $*"
  if [ "${GENRPC_REQUIRE_DEVICE:-0}" = 1 ]; then
    echo "qemu_test: GENRPC_REQUIRE_DEVICE=1: a skip is a failure" >&2
    exit 1
  fi
  exit 77
}
command -v qemu-system-arm >/dev/null || skip "qemu-system-arm not found (Debian package qemu-system-arm)"
# The AN386 image has a Cortex-M4. (mps2-an385 is the same board with a
# Cortex-M3, which lacks the M4's DSP instructions the build uses.)
machine=mps2-an386
qemu-system-arm -machine help | grep -q "^$machine " ||
  skip "this qemu-system-arm has no $machine machine (qemu >= 6.0 has)"
"$root/scripts/device-build.sh" "$build" "$plugin" || exit $?
elf=$build/device_client.elf

tmp=$(mktemp -d)
node_pid=
cleanup() {
  exec 3>&- 2>/dev/null || true # the node's stdin: EOF stops it
  if [ -n "$node_pid" ]; then
    for _ in $(seq 50); do kill -0 "$node_pid" 2>/dev/null || break; sleep 0.1; done
    kill -TERM "$node_pid" 2>/dev/null && sleep 0.5 && kill -KILL "$node_pid" 2>/dev/null
    wait "$node_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

node_name=node@127.0.0.1
cookie=device-test-$$-$RANDOM
mkfifo "$tmp/node.in"
"$node_bin" --name "$node_name" --cookie "$cookie" --port 0 \
  <"$tmp/node.in" >"$tmp/node.out" 2>"$tmp/node.err" &
node_pid=$!
exec 3>"$tmp/node.in"
port=
for _ in $(seq 100); do
  port=$(awk '/^PORT/ { print $2 }' "$tmp/node.out")
  [ -n "$port" ] && break
  kill -0 "$node_pid" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$port" ]; then
  cat "$tmp/node.err" >&2
  echo "qemu_test: FAIL: the node did not print its port within 10 s" >&2
  exit 1
fi
echo "qemu_test: node $node_name (pid $node_pid) on 127.0.0.1:$port; qemu machine $machine"

# run_device NAME ARGS...: one qemu run; its console is in $tmp/NAME.out.
run_device() {
  local name=$1
  shift
  local rc=0
  timeout -k 5 "$QEMU_TIMEOUT" qemu-system-arm -machine "$machine" -display none -monitor none \
    -semihosting-config enable=on,target=native \
    -chardev "socket,id=uart0,host=127.0.0.1,port=$port,nodelay=on" -serial chardev:uart0 \
    -kernel "$elf" -append "$*" >"$tmp/$name.out" 2>&1 || rc=$?
  echo "---- device run '$name' (qemu exit status $rc):"
  cat "$tmp/$name.out"
  if [ $rc = 124 ] || [ $rc = 137 ]; then
    echo "qemu_test: FAIL: '$name' did not finish within ${QEMU_TIMEOUT} s" >&2
    return 1
  fi
  if [ $rc != 0 ] || ! grep -q '^device: PASS$' "$tmp/$name.out"; then
    echo "qemu_test: FAIL: '$name' (exit status $rc)" >&2
    return 1
  fi
}

status=0
run_device calls "$node_name" "$cookie" || status=1
run_device wrong-cookie "$node_name" "not-the-$cookie" expect-reject || status=1
if [ -s "$tmp/node.err" ]; then
  echo "---- node stderr:"
  cat "$tmp/node.err"
fi
[ $status = 0 ] && echo "qemu_test: PASS"
exit $status
