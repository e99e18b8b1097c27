#!/usr/bin/env bash
# tests/fuzz/run.sh [seconds-per-target]   (default: $GENRPC_FUZZ_SECONDS, else 60)
# Builds the libFuzzer targets (clang, ASan + UBSan) in build-fuzz/ and runs
# each for the given time (default 60 s) from its seed corpus in
# tests/fuzz/corpus/<target>/ (new inputs go to build-fuzz/corpus/<target>/,
# never into the tree). Prints executions and crashes per target; exits
# non-zero if any target crashed (reproducers: build-fuzz/artifacts/).
# Env: BUILD_DIR (build-fuzz), JOBS (2), FUZZ_TARGETS (all).
set -uo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-${GENRPC_FUZZ_SECONDS:-60}}
build=${BUILD_DIR:-build-fuzz}
jobs=${JOBS:-2}
targets=${FUZZ_TARGETS:-"fuzz_frame fuzz_decode fuzz_node fuzz_options fuzz_embedded"}

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGENRPC_FUZZ=ON \
      -DGENRPC_BUILD_TESTS=OFF -DGENRPC_BUILD_EXAMPLES=OFF -DGENRPC_BUILD_BENCH=OFF \
      -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ >/dev/null || exit 2
# shellcheck disable=SC2086
cmake --build "$build" -j"$jobs" --target $targets >/dev/null || {
  cmake --build "$build" -j1 --target $targets; exit 2; }

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
summary=""
for t in $targets; do
  work="$build/corpus/$t"
  art="$build/artifacts/$t/"
  rm -rf "$art"   # findings of earlier runs would be counted again
  mkdir -p "$work" "$art"
  log="$build/$t.log"
  echo "== $t: ${seconds}s"
  "$build/tests/fuzz/$t" -max_total_time="$seconds" -timeout=25 -rss_limit_mb=4096 \
      -print_final_stats=1 -artifact_prefix="$art" "$work" "tests/fuzz/corpus/$t" \
      >"$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  crashes=$(find "$art" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
            -o -name 'oom-*' \) | wc -l)
  if [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ]; then crashes=1; fi
  line=$(printf '%-14s executions %-10s crashes %s' "$t" "${execs:-?}" "$crashes")
  echo "$line"
  summary+="$line"$'\n'
  if [ "$crashes" -ne 0 ]; then
    status=1
    echo "-- $t failed (rc $rc); last lines of $log:"
    tail -40 "$log"
    ls "$art"
  fi
done
echo "== fuzz summary (${seconds}s per target)"
printf '%s' "$summary"
exit $status
