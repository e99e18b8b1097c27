#!/usr/bin/env bash
# fetch-debian-source.sh PACKAGE [VERSION] -- print the directory of PACKAGE's
# upstream sources, fetched from Debian's own source archive (deb-src).
#
# The device build (runtime/embedded/port/qemu-mps2) compiles two libraries
# that Debian ships only for the host: mbedTLS's SHA-256 (libmbedtls-dev has
# no sources) and nanopb's pb_encode.c/pb_decode.c/pb_common.c (libnanopb-dev
# has only headers and a host archive). This script asks apt for Debian's
# source package with a private sources list and private state (the system's
# apt configuration is neither read nor changed), checks it the way apt does
# (the archive's signed Release files), and unpacks the upstream tarball.
#
# Cache: $GENRPC_DEBIAN_SRC (default <repo>/.cache/debian-src); a package that
# is already unpacked there is not fetched again. VERSION defaults to the
# source version of the installed binary package named in the case below
# (so nanopb's sources match the installed pb.h and generator), else -- or
# when that version has left the archive -- the newest in it. Diagnostics
# go to stderr; the only stdout line is the directory. Needs apt-get and
# Debian's archive keyring; no root needed.
set -euo pipefail
pkg=${1:?usage: fetch-debian-source.sh PACKAGE [VERSION]}
version=${2:-}
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${GENRPC_DEBIAN_SRC:-$root/.cache/debian-src}

if [ -z "$version" ]; then
  case $pkg in
    nanopb) bin=libnanopb-dev ;;
    mbedtls) bin=libmbedtls-dev ;;
    *) bin= ;;
  esac
  if [ -n "$bin" ]; then
    version=$(dpkg-query -W -f='${source:Version}' "$bin" 2>/dev/null || true)
  fi
fi

# An unpacked copy of this package (and version, when known) in the cache?
stamp="$cache/$pkg${version:+_$version}.dir"
if [ -f "$stamp" ] && [ -d "$(cat "$stamp")" ]; then
  cat "$stamp"
  exit 0
fi

command -v apt-get >/dev/null || { echo "fetch-debian-source: apt-get not found" >&2; exit 1; }
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -r "$keyring" ] || { echo "fetch-debian-source: $keyring missing (package debian-archive-keyring)" >&2; exit 1; }
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
[ -n "$codename" ] || { echo "fetch-debian-source: no VERSION_CODENAME in /etc/os-release" >&2; exit 1; }

apt_dir="$cache/apt"
mkdir -p "$apt_dir/sources" "$apt_dir/lists/partial" "$apt_dir/archives/partial" "$apt_dir/cache"
cat > "$apt_dir/sources/debian-src.sources" <<SRC
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: $codename $codename-updates
Components: main
Signed-By: $keyring
SRC
cat > "$apt_dir/sources/debian-security-src.sources" <<SRC
Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: $codename-security
Components: main
Signed-By: $keyring
SRC
apt_opts=(-o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$apt_dir/sources"
          -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
          -o "Dir::Cache::Archives=$apt_dir/archives"
          -o "Debug::NoLocking=1" -o "APT::Sandbox::User=$(id -un)")
# Refresh the index at most once a day.
if [ -z "$(find "$apt_dir/lists" -maxdepth 1 -name '*Sources*' -mtime -1 2>/dev/null)" ]; then
  echo "fetch-debian-source: apt-get update (deb-src $codename)" >&2
  apt-get "${apt_opts[@]}" -qq update >&2
fi

work="$cache/$pkg${version:+_$version}"
rm -rf "$work" && mkdir -p "$work"
echo "fetch-debian-source: apt-get source --download-only $pkg${version:+=$version}" >&2
if ! (cd "$work" && apt-get "${apt_opts[@]}" -qq source --download-only "$pkg${version:+=$version}" >&2); then
  [ -n "$version" ] || exit 1
  # The installed version may have left the archive (a point release since).
  echo "fetch-debian-source: $pkg=$version is not in the archive; taking its newest $pkg" >&2
  (cd "$work" && apt-get "${apt_opts[@]}" -qq source --download-only "$pkg" >&2)
fi
orig=$(find "$work" -maxdepth 1 -name "${pkg}_*.orig.tar.*" | head -n1)
[ -n "$orig" ] || { echo "fetch-debian-source: no ${pkg}_*.orig.tar.* in $work" >&2; exit 1; }
tar -C "$work" -xf "$orig"
src=$(find "$work" -mindepth 1 -maxdepth 1 -type d | head -n1)
[ -n "$src" ] || { echo "fetch-debian-source: $orig unpacked to nothing" >&2; exit 1; }
echo "$src" > "$stamp"
echo "$src"
