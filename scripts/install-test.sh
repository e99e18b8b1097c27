#!/usr/bin/env bash
# genrpc as a user gets it: installed, then used by a project outside the tree.
#   scripts/install-test.sh [BUILD_DIR]          (default: build-install)
#
#  1. builds the libraries and the plugin (tests, examples, bench off) in
#     BUILD_DIR, configured for /usr as the Debian packages are;
#  2. `cmake --install --prefix` into a temporary prefix, then moves that
#     tree elsewhere (the installed files must not name where they were put);
#  3. copies examples/standalone out of the tree and builds and runs it
#     against the moved prefix: with make + protoc + plain pkg-config (shared
#     libgenrpc.so) and `make static` (pkg-config --static, libgenrpc.a), and
#     with CMake find_package(genrpc) + genrpc_generate (shared, and static
#     with GENRPC_USE_STATIC_LIBS); each run is a server and a client node
#     process making a real call; and links a program to the embedded client
#     through genrpc-embedded.pc;
#  4. `cpack -G DEB`: libgenrpc1, libgenrpc-dev, genrpc-tools;
#  5. installs them with dpkg -i, builds and runs the same project both ways
#     with nothing pointing at a prefix, and removes them (dpkg -r). As that
#     changes the machine, it runs only when asked:
#       GENRPC_INSTALL_DEBS=1        for real (root; CI, a throwaway machine).
#                                    Refused if a genrpc package is already
#                                    installed (dpkg -r would remove it).
#       GENRPC_INSTALL_DEBS=sandbox  root, on a shared machine: the same in a
#                                    private mount namespace (unshare -m) whose
#                                    /usr, /etc and /var are overlays thrown
#                                    away at the end; nothing reaches the system.
#     Otherwise the step is skipped, and says so.
# Exits non-zero on the first failure. Everything it starts is stopped and
# its temporary directory removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$(pwd)
jobs=${JOBS:-2}
packages=(libgenrpc-dev genrpc-tools libgenrpc1)

debs_installed=0
tmp=
own_tmp=0
cleanup() {
  if [ "$debs_installed" = 1 ]; then dpkg -r "${packages[@]}" >/dev/null 2>&1 || true; fi
  if [ "$own_tmp" = 1 ] && [ -n "$tmp" ]; then rm -rf "$tmp"; fi
}
trap cleanup EXIT

step() { echo "== install-test: $*"; }
fail() { echo "install-test: $*" >&2; exit 1; }

# Builds and runs examples/standalone in a fresh copy at $1, with make.
# $2: "shared" checks that the programs load libgenrpc.so.1 from $3 (a
# directory, or "" for the system's).
project_make() {
  local dir=$1 libdir=$2
  rm -rf "$dir"
  cp -r "$src/examples/standalone" "$dir"
  make -s -C "$dir" -j"$jobs" all static >"$dir/make.log" 2>&1 || { cat "$dir/make.log" >&2; fail "make failed in $dir"; }
  if grep -iE 'warning|error' "$dir/make.log"; then fail "make printed warnings in $dir"; fi
  check_links "$dir/hello_server" shared "$libdir"
  check_links "$dir/hello_server_static" static
  (cd "$dir" && ./run.sh . && ./run.sh . _static)
}

# The same with CMake: find_package(genrpc) + genrpc_generate. $2: the
# CMAKE_PREFIX_PATH ("" for none), $3 as for project_make.
project_cmake() {
  local dir=$1 prefix_path=$2 libdir=$3
  rm -rf "$dir"
  cp -r "$src/examples/standalone" "$dir"
  local args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
  [ -n "$prefix_path" ] && args+=(-DCMAKE_PREFIX_PATH="$prefix_path")
  for kind in shared static; do
    local b="$dir/build-$kind" extra=()
    [ "$kind" = static ] && extra=(-DGENRPC_USE_STATIC_LIBS=ON)
    cmake -S "$dir" -B "$b" "${args[@]}" "${extra[@]}" >"$dir/cmake-$kind.log" 2>&1 ||
      { cat "$dir/cmake-$kind.log" >&2; fail "cmake configure failed in $b"; }
    cmake --build "$b" -j"$jobs" >>"$dir/cmake-$kind.log" 2>&1 ||
      { cat "$dir/cmake-$kind.log" >&2; fail "cmake build failed in $b"; }
    if grep -iE 'warning' "$dir/cmake-$kind.log"; then fail "cmake printed warnings in $b"; fi
    check_links "$b/hello_server" "$kind" "$libdir"
    (cd "$dir" && ./run.sh "$b")
  done
}

# The embedded client through genrpc-embedded.pc: a program computing RFC
# 4231's HMAC-SHA256 test case 2 with the library's mbedTLS hook, in $1.
embedded_pc() {
  local dir=$1
  mkdir -p "$dir"
  cat >"$dir/emb.c" <<'C'
#include <stdio.h>
#include <string.h>
#include "genrpc/embedded.h"
int main(void) {
    static const char key[] = "Jefe", msg[] = "what do ya want for nothing?";
    uint8_t mac[GENRPC_EMB_MAC_LEN];
    if (genrpc_emb_hmac_sha256_mbedtls(NULL, (const uint8_t *)key, strlen(key),
                                       (const uint8_t *)msg, strlen(msg), mac) != 0)
        return 1;
    for (size_t i = 0; i < sizeof mac; i++) printf("%02x", mac[i]);
    printf("\n");
    return 0;
}
C
  # shellcheck disable=SC2046 # pkg-config's output is a list of flags
  cc -Wall -Wextra -o "$dir/emb" "$dir/emb.c" $(pkg-config --cflags --libs genrpc-embedded)
  local got
  got=$("$dir/emb")
  [ "$got" = 5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843 ] ||
    fail "genrpc-embedded: HMAC-SHA256 gave $got"
  echo "  genrpc-embedded.pc: links, RFC 4231 HMAC-SHA256 case 2 right"
}

# check_links PROGRAM shared|static [LIBDIR]: the program loads
# libgenrpc.so.1 (from LIBDIR when given), or does not load it at all.
check_links() {
  local prog=$1 kind=$2 libdir=${3:-} line
  line=$(ldd "$prog" | grep 'libgenrpc\.so' || true)
  if [ "$kind" = static ]; then
    [ -z "$line" ] || fail "$prog should not load libgenrpc.so: $line"
    echo "  $prog: libgenrpc.a (no libgenrpc.so loaded)"
    return
  fi
  [ -n "$line" ] || fail "$prog does not load libgenrpc.so.1"
  case $line in *"not found"*) fail "$prog: $line" ;; esac
  local found
  found=$(echo "$line" | sed -E 's/.*=> ([^ ]+) .*/\1/')
  if [ -n "$libdir" ] && [ "$(readlink -f "$(dirname "$found")")" != "$(readlink -f "$libdir")" ]; then
    fail "$prog loads $found, not the one in $libdir"
  fi
  echo "  $prog: $found"
}

# The genrpc command ($1) runs from where it is installed: its help, and a
# clear "unreachable" (exit 7) for a node that is not there. It links
# libgenrpc statically (the tools package does not need libgenrpc1).
cli_check() {
  local cli=$1 port
  [ -x "$cli" ] || fail "$cli is not installed"
  "$cli" --help >/dev/null || fail "$cli --help failed"
  if ldd "$cli" | grep -q 'libgenrpc\.so'; then fail "$cli loads libgenrpc.so"; fi
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  local rc=0
  "$cli" ping nobody@127.0.0.1 --cookie x --port "$port" --timeout 2000 2>"$tmp/cli.err" || rc=$?
  [ "$rc" -eq 7 ] || { cat "$tmp/cli.err" >&2; fail "$cli ping of no node exited $rc, not 7"; }
  echo "  $cli: --help, ping (exit 7 for no node: $(cat "$tmp/cli.err"))"
}

# Step 5's body: with the packages in $1 installed into the running
# system (real or sandboxed), the project both ways, then dpkg -r.
debs_body() {
  local pkgdir=$1 tmp=$2
  step "dpkg -i ${packages[*]}"
  debs_installed=1
  dpkg -i "$pkgdir"/*.deb >"$tmp/dpkg.log" 2>&1 || { cat "$tmp/dpkg.log" >&2; fail "dpkg -i failed"; }
  dpkg -l "${packages[@]}" | grep '^ii'
  local libdir
  libdir=$(pkg-config --variable=libdir genrpc)
  echo "  pkg-config --cflags --libs genrpc: $(pkg-config --cflags --libs genrpc)"
  echo "  plugin: $(pkg-config --variable=protoc_gen_genrpc genrpc)"
  [ "$libdir" = "/usr/lib/$(gcc -print-multiarch)" ] || [ "$libdir" = /usr/lib ] ||
    fail "genrpc.pc from the package gives libdir=$libdir"
  step "packages: the genrpc command"
  cli_check "$(command -v genrpc || echo /usr/bin/genrpc)"
  step "packages: make + pkg-config (no PKG_CONFIG_PATH)"
  (unset PKG_CONFIG_PATH; project_make "$tmp/deb-make" "$libdir")
  (unset PKG_CONFIG_PATH; embedded_pc "$tmp/deb-embedded")
  step "packages: CMake find_package (no CMAKE_PREFIX_PATH)"
  project_cmake "$tmp/deb-cmake" "" "$libdir"
  step "dpkg -r ${packages[*]}"
  dpkg -r "${packages[@]}" >"$tmp/dpkg-r.log" 2>&1 || { cat "$tmp/dpkg-r.log" >&2; fail "dpkg -r failed"; }
  debs_installed=0
  if dpkg -l "${packages[@]}" 2>/dev/null | grep -q '^ii'; then fail "packages still installed after dpkg -r"; fi
  echo "  removed"
}

if [ "${1:-}" = "--debs-in-sandbox" ]; then
  # Re-entered by ourselves under unshare -m: overlays, then step 5.
  pkgdir=$2 tmp=$3
  for d in usr etc var; do
    mkdir -p "$tmp/overlay/$d/up" "$tmp/overlay/$d/work"
    mount -t overlay "overlay-$d" \
      -o "lowerdir=/$d,upperdir=$tmp/overlay/$d/up,workdir=$tmp/overlay/$d/work" "/$d"
  done
  debs_body "$pkgdir" "$tmp"
  exit 0
fi

build=${1:-build-install}
start=$(date +%s)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/genrpc-install-test.XXXXXX")
own_tmp=1

step "build ($build, libraries and plugin only)"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr \
      -DGENRPC_BUILD_TESTS=OFF -DGENRPC_BUILD_EXAMPLES=OFF -DGENRPC_BUILD_BENCH=OFF \
      -DGENRPC_FUZZ=OFF -DGENRPC_SANITIZE=OFF -DBUILD_SHARED_LIBS=OFF >/dev/null
cmake --build "$build" -j"$jobs" >/dev/null

step "cmake --install --prefix $tmp/staged, then moved to $tmp/moved/genrpc"
cmake --install "$build" --prefix "$tmp/staged" >/dev/null
mkdir -p "$tmp/moved"
mv "$tmp/staged" "$tmp/moved/genrpc"
prefix=$tmp/moved/genrpc
if grep -rIl -e "$tmp/staged" "$prefix"; then fail "installed files name the install prefix (above)"; fi
pcdir=$(dirname "$(find "$prefix" -name genrpc.pc)")
libdir=$(dirname "$pcdir")
soname=$(readelf -d "$libdir/libgenrpc.so" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
echo "  $(cd "$prefix" && find . -name 'libgenrpc*' | sort | tr '\n' ' ')"
echo "  SONAME $soname"
[ "$soname" = libgenrpc.so.1 ] || fail "libgenrpc.so's SONAME is '$soname'"
export PKG_CONFIG_PATH=$pcdir
echo "  pkg-config --cflags --libs genrpc: $(pkg-config --cflags --libs genrpc)"
echo "  pkg-config --static --libs genrpc: $(pkg-config --static --libs genrpc)"
plugin=$(pkg-config --variable=protoc_gen_genrpc genrpc)
[ -x "$plugin" ] || fail "protoc_gen_genrpc=$plugin is not an executable"
[ -f "$(pkg-config --variable=proto_import_dir genrpc)/genrpc/options.proto" ] ||
  fail "proto_import_dir has no genrpc/options.proto"

for f in reflection health; do
  [ -f "$(pkg-config --variable=proto_import_dir genrpc)/genrpc/$f.proto" ] ||
    fail "proto_import_dir has no genrpc/$f.proto"
done
step "prefix: the genrpc command"
cli_check "$prefix/bin/genrpc"

step "prefix: make + protoc + pkg-config (shared, then --static)"
project_make "$tmp/prefix-make" "$libdir"
embedded_pc "$tmp/prefix-embedded"
step "prefix: CMake find_package(genrpc) + genrpc_generate (shared, then static)"
unset PKG_CONFIG_PATH
project_cmake "$tmp/prefix-cmake" "$prefix" "$libdir"

step "cpack -G DEB"
(cd "$build" && rm -rf packages && cpack -G DEB >"$tmp/cpack.log" 2>&1) ||
  { cat "$tmp/cpack.log" >&2; fail "cpack failed"; }
pkgdir=$build/packages
for deb in "$pkgdir"/*.deb; do
  echo "  $(basename "$deb"): $(dpkg-deb -f "$deb" Depends)"
done
[ "$(find "$pkgdir" -maxdepth 1 -name "*.deb" | wc -l)" -eq 3 ] || fail "expected 3 packages in $pkgdir"

mode=${GENRPC_INSTALL_DEBS:-0}
case $mode in
  1)
    [ "$(id -u)" -eq 0 ] || fail "GENRPC_INSTALL_DEBS=1 needs root (dpkg -i)"
    if dpkg -l "${packages[@]}" 2>/dev/null | grep -q '^ii'; then
      fail "a genrpc package is already installed; not touching it (dpkg -r it first)"
    fi
    debs_body "$(readlink -f "$pkgdir")" "$tmp"
    ;;
  sandbox)
    [ "$(id -u)" -eq 0 ] || fail "GENRPC_INSTALL_DEBS=sandbox needs root (unshare -m, mount)"
    step "packages: in a private mount namespace over overlays of /usr /etc /var"
    unshare -m bash "$0" --debs-in-sandbox "$(readlink -f "$pkgdir")" "$tmp"
    ;;
  *)
    step "SKIPPED: dpkg -i of the packages (changes the machine). GENRPC_INSTALL_DEBS=1 (root," \
         "CI) does it for real, GENRPC_INSTALL_DEBS=sandbox (root) in a throw-away overlay"
    ;;
esac
step "passed in $(($(date +%s) - start)) s"
