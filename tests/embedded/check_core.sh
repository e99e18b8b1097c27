#!/bin/sh
# check_core.sh "<cc...>" <nm> <outdir> <-I flags...> -- <core sources...>
# Compiles each source of the embedded core as freestanding C99 with
# -Werror, then checks the objects need nothing from libc but
# memcpy/memcmp/memset (no malloc, no stdio, no POSIX).
set -eu
cc=$1; nm=$2; out=$3; shift 3
flags=""
while [ "$1" != "--" ]; do flags="$flags $1"; shift; done
shift
mkdir -p "$out"
objs=""
for src in "$@"; do
  obj="$out/$(basename "$src" .c).o"
  # shellcheck disable=SC2086
  $cc -std=c99 -Os -ffreestanding -Wall -Wextra -pedantic -Werror $flags -c "$src" -o "$obj"
  objs="$objs $obj"
done
# shellcheck disable=SC2086
undef=$($nm -u $objs | awk 'NF == 2 {print $2}' | sort -u | grep -v '^genrpc_emb' |
        grep -v -x -e memcpy -e memcmp -e memset || true)
if [ -n "$undef" ]; then
  echo "check_core.sh: the embedded core needs symbols outside itself: $undef" >&2
  exit 1
fi
echo "embedded core: freestanding C99, libc use limited to memcpy/memcmp/memset"
