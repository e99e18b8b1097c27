#!/usr/bin/env bash
# The whole test suite, in both build configurations:
#   build/          gcc, RelWithDebInfo
#   build-asan/     clang, AddressSanitizer + UndefinedBehaviorSanitizer
# and scripts/check-exports (build-exports/: a shared libgenrpc only) and
# scripts/check-layers (the runtime's layering, on build/'s objects).
# Exits non-zero if a build, the export or layer check, or any test fails.
# GENRPC_FUZZ_SECONDS=<n> (unset: skipped) also runs every libFuzzer target
# for n seconds (tests/fuzz/run.sh, build-fuzz/).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${JOBS:-2}

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGENRPC_BUILD_TESTS=ON
cmake --build build -j"$jobs"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DGENRPC_SANITIZE=ON -DGENRPC_BUILD_TESTS=ON \
      -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++
cmake --build build-asan -j"$jobs"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
echo "== exports: a shared libgenrpc (build-exports/)"
scripts/check-exports || status=1
echo "== layers: includes and symbols of the runtime's objects (build/)"
scripts/check-layers --objects build/runtime/CMakeFiles/genrpc_objects.dir/src || status=1
echo "== tests: gcc build (build/)"
ctest --test-dir build --output-on-failure -j"$jobs" --timeout 180 || status=1
echo "== tests: clang ASan+UBSan build (build-asan/)"
ctest --test-dir build-asan --output-on-failure -j"$jobs" --timeout 300 || status=1
if [ -n "${GENRPC_FUZZ_SECONDS:-}" ]; then
  echo "== fuzzing: ${GENRPC_FUZZ_SECONDS}s per target (build-fuzz/)"
  tests/fuzz/run.sh "$GENRPC_FUZZ_SECONDS" || status=1
fi
exit $status
