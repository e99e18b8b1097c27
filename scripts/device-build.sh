#!/usr/bin/env bash
# device-build.sh BUILD_DIR [PLUGIN] -- builds the embedded client's device project
# (runtime/embedded/port/qemu-mps2: the client, nanopb and mbedTLS SHA-256
# for a Cortex-M4, and the device program device_client.elf) with Debian's
# gcc-arm-none-eabi, warnings as failures. PLUGIN is the host's
# protoc-gen-genrpc (the device program's stubs come from its embedded mode);
# default $GENRPC_PROTOC_GEN_GENRPC, else build/codegen/protoc-gen-genrpc. Used by scripts/embedded-size.sh
# and tests/device/qemu_test.sh.
# Exit status: 0 built; 1 failed (the build's output on stderr); 77 skipped
# (toolchain missing; a message says which package) unless
# GENRPC_REQUIRE_DEVICE=1 (CI), which makes a skip a failure.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:?usage: device-build.sh BUILD_DIR [PLUGIN]}
plugin=${2:-${GENRPC_PROTOC_GEN_GENRPC:-$root/build/codegen/protoc-gen-genrpc}}

skip() {
  echo "device-build: SKIPPED: $*"
  if [ "${GENRPC_REQUIRE_DEVICE:-0}" = 1 ]; then
    echo "device-build: GENRPC_REQUIRE_DEVICE=1: a skip is a failure" >&2
    exit 1
  fi
  exit 77
}
need() { command -v "$1" >/dev/null || skip "$1 not found (Debian package $2)"; }
need arm-none-eabi-gcc gcc-arm-none-eabi
need protoc protobuf-compiler
need protoc-gen-nanopb nanopb
case $(arm-none-eabi-gcc -print-file-name=libc_nano.a) in
  /*) ;;
  *) skip "newlib for arm-none-eabi not found (Debian package libnewlib-arm-none-eabi)" ;;
esac

if [ ! -x "$plugin" ]; then
  echo "device-build: $plugin not found: build the host project first" \
       "(cmake --build build --target protoc-gen-genrpc) or pass the plugin's path" >&2
  exit 1
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! { cmake -S "$root/runtime/embedded/port/qemu-mps2" -B "$build" \
         -DCMAKE_TOOLCHAIN_FILE="$root/cmake/arm-none-eabi.cmake" -DCMAKE_BUILD_TYPE=MinSizeRel \
         -DGENRPC_PROTOC_GEN_GENRPC="$(cd "$(dirname "$plugin")" && pwd)/$(basename "$plugin")" &&
       cmake --build "$build" -j"${JOBS:-2}"; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "device-build: the device build failed (above)" >&2
  exit 1
fi
if grep -q 'warning:' "$log"; then
  grep -B2 -A4 'warning:' "$log" >&2
  echo "device-build: the device build has warnings (above)" >&2
  exit 1
fi
