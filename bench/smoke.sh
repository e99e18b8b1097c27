#!/usr/bin/env bash
# smoke.sh SERVER CLIENT - CTest smoke of the bench pair (a few seconds):
# start the server on a free port, run the client 1 s at 64 B x 4 and at
# 64 KB x 2, check exit status 0 (every reply had the right bytes) and the
# result line's format. Speed is not checked. Bounded waits; the server is
# ended by its PID.
set -u
SERVER=$1 CLIENT=$2
LOG=$(mktemp)
SRV=
cleanup() { [[ -n $SRV ]] && kill "$SRV" 2>/dev/null && wait "$SRV" 2>/dev/null; rm -f "$LOG"; }
trap cleanup EXIT

"$SERVER" --port 0 --seconds 40 2>"$LOG" &
SRV=$!
PORT=
for _ in $(seq 50); do   # <= 5 s for the "listening on port N" line
    PORT=$(sed -n 's/.*listening on port \([0-9]*\).*/\1/p' "$LOG")
    [[ -n $PORT ]] && break
    sleep 0.1
done
if [[ -z $PORT ]]; then echo "server did not start:"; cat "$LOG"; exit 1; fi

LINE_RE='^calls_per_s=[0-9.]+ p50_us=[0-9.]+ p99_us=[0-9.]+ mb_per_s=[0-9.]+$'
fail=0
for cell in 64:4 65536:2; do
    out=$(timeout 20 "$CLIENT" --port "$PORT" --payload "${cell%%:*}" \
          --concurrency "${cell##*:}" --seconds 1 --warmup 0.2 --verify)
    rc=$?
    echo "payload:concurrency $cell rc=$rc: $out"
    if [[ $rc -ne 0 ]]; then echo "FAIL: client exited $rc"; fail=1; fi
    if ! [[ $out =~ $LINE_RE ]]; then echo "FAIL: bad result line"; fail=1; fi
    if [[ $out == calls_per_s=0.0* ]]; then echo "FAIL: no calls"; fail=1; fi
done
exit $fail
