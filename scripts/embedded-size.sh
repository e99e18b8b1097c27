#!/usr/bin/env bash
# embedded-size.sh [BUILD_DIR [PLUGIN]] -- the embedded client's size on a Cortex-M4.
#
# Builds runtime/embedded/port/qemu-mps2 with Debian's gcc-arm-none-eabi
# (-Os -mthumb -mcpu=cortex-m4, cmake/arm-none-eabi.cmake) into BUILD_DIR
# (default build-device/; PLUGIN: see scripts/device-build.sh), prints the table of docs/embedded.md ("Size on a
# Cortex-M4") and checks the issue's targets:
#   .text of the client core + nanopb (encoder, decoder, common) + HMAC
#   (mbedTLS SHA-256 + the HMAC construction), whole libraries: <= 12 KiB
#   RAM beyond the two buffers (the client struct + those libraries' .data
#   and .bss): <= 512 bytes
# (GENRPC_EMB_TEXT_LIMIT / GENRPC_EMB_RAM_LIMIT override them, for trying.)
# Exit status: 0 within the targets, 1 over a target or on a build error,
# 77 (skipped) when the ARM toolchain is missing (scripts/device-build.sh) --
# unless GENRPC_REQUIRE_DEVICE=1 (CI), which turns a skip into a failure.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build-device}
TEXT_LIMIT=${GENRPC_EMB_TEXT_LIMIT:-12288}
RAM_LIMIT=${GENRPC_EMB_RAM_LIMIT:-512}

"$root/scripts/device-build.sh" "$build" ${2:+"$2"} || exit $?

# Whole libraries, as compiled: "text data bss" of an archive.
lib_size() { arm-none-eabi-size -B -t "$build/$1" | awk 'END { print $1, $2, $3 }'; }

# Linked into the device program (after --gc-sections): "text data bss" of
# the input sections the map lists as kept, for files matching $1. A kept
# section's size is its size in its object file: the map shows a mergeable
# string section (.rodata.*.str1.1) with the size of all merged strings.
sections=$(mktemp)
trap 'rm -f "$sections"' EXIT
arm-none-eabi-size -A "$build"/*.a "$build"/CMakeFiles/device_client.elf.dir/*.obj \
                      "$build"/CMakeFiles/device_client.elf.dir/gen/*.obj |
  awk '/:$/ { m = $1; sub(/.*\//, "", m); next }
       NF == 3 && $2 ~ /^[0-9]+$/ { print m, $1, $2 }' >"$sections"
map_size() {
  awk -v pat="$1" '
    FNR == NR { own[$1 "|" $2] = $3; next }          # member section size
    /^Linker script and memory map/ { on = 1; next }
    !on { next }
    /^[.\/][^ ]*/ { out = $1 }                       # an output section
    function hex(s,   i, n) {                        # mawk has no strtonum
      n = 0
      for (i = 3; i <= length(s); i++) n = n * 16 + index("0123456789abcdef", tolower(substr(s, i, 1))) - 1
      return n
    }
    function add(sec, size, file,   m, n) {
      if (file !~ pat) return
      m = file
      if (m ~ /\(.*\)$/) { sub(/.*\(/, "", m); sub(/\)$/, "", m) } else sub(/.*\//, "", m)
      n = ((m "|" sec) in own) ? own[m "|" sec] : hex(size)
      if (out == ".text" || out == ".ARM.exidx") t += n
      else if (out == ".data") d += n
      else if (out == ".bss") b += n
    }
    /^ [^ *]/ && NF >= 4 && $2 ~ /^0x/ && $3 ~ /^0x/ { add($1, $3, $4); pending = ""; next }
    /^ [^ *]/ && NF == 1 { pending = $1; next }       # a long name: numbers on the next line
    pending != "" && NF >= 3 && $1 ~ /^0x/ && $2 ~ /^0x/ { add(pending, $2, $3) }
    { pending = "" }
    END { print t + 0, d + 0, b + 0 }' "$sections" "$build/device_client.map"
}

client_struct=$(arm-none-eabi-nm -S "$build/CMakeFiles/size_probe.dir/size_probe.c.obj" |
                awk '$4 == "genrpc_size_probe_client" { print $2 }')
client_struct=$((16#${client_struct:-0}))

parts=("client core|client.c wire.c error.c|libgenrpc_emb.a|libgenrpc_emb\\.a"
       "nanopb|pb_encode.c pb_decode.c pb_common.c|libnanopb.a|libnanopb\\.a"
       "HMAC-SHA256|mbedTLS sha256.c platform_util.c + hmac_mbedtls.c|libmbedtls_sha256.a libgenrpc_emb_hmac.a|lib(mbedtls_sha256|genrpc_emb_hmac)\\.a")
ct=0 cd=0 cb=0 lt=0 ld=0 lb=0
rows=""
for p in "${parts[@]}"; do
  IFS='|' read -r name files libs pat <<<"$p"
  t=0 d=0 b=0
  for l in $libs; do
    read -r a1 a2 a3 < <(lib_size "$l")
    t=$((t + a1)) d=$((d + a2)) b=$((b + a3))
  done
  read -r m1 m2 m3 < <(map_size "$pat")
  ct=$((ct + t)) cd=$((cd + d)) cb=$((cb + b)) lt=$((lt + m1)) ld=$((ld + m2)) lb=$((lb + m3))
  rows+="| $name | $files | $t | $d | $b | $m1 | $m2 | $m3 |"$'\n'
done
# The generated code of the device program (tests/proto/test.proto: every
# rpc of its services gets an _emb_call and an _emb_cast stub).
obj_size() { arm-none-eabi-size -B "$build/CMakeFiles/device_client.elf.dir/gen/$1" | awk 'END { print $1, $2, $3 }'; }
read -r st sd sb < <(obj_size test.genrpc_emb.c.obj)
read -r sl_t sl_d sl_b < <(map_size 'test\.genrpc_emb\.c\.obj')
read -r pt pd pb < <(obj_size test.pb.c.obj)
read -r pl_t pl_d pl_b < <(map_size 'test\.pb\.c\.obj')
stub_names=$(arm-none-eabi-nm "$build/CMakeFiles/device_client.elf.dir/gen/test.genrpc_emb.c.obj" |
             awk '$2 == "T" && $3 ~ /_emb_(call|cast)$/ { print $3 }')
stubs=$(echo "$stub_names" | grep -c . || true)
used=$(arm-none-eabi-nm "$build/device_client.elf" | awk '{ print $3 }' |
       grep -c -x -F "$stub_names" || true)
read -r xt xd xb < <(map_size 'libc_nano\.a|libgcc\.a')
read -r bt bd bb < <(map_size '.')
gcc_version=$(arm-none-eabi-gcc -dumpversion)
ram=$((client_struct + cd + cb))

cat <<TABLE
Size on a Cortex-M4: arm-none-eabi-gcc $gcc_version, -Os -mthumb -mcpu=cortex-m4
-ffunction-sections -fdata-sections; nanopb with PB_NO_ERRMSG; bytes.
"Library": every function of the sources. "Linked": what the device program
(runtime/embedded/port/qemu-mps2/main.c) keeps after --gc-sections.

| part | sources | library .text | .data | .bss | linked .text | .data | .bss |
| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |
${rows}| **client total** | | **$ct** | **$cd** | **$cb** | **$lt** | **$ld** | **$lb** |
| generated stubs (test.proto: $stubs, of which the program links $used) | test.genrpc_emb.c | $st | $sd | $sb | $sl_t | $sl_d | $sl_b |
| generated messages (nanopb descriptors) | test.pb.c | $pt | $pd | $pb | $pl_t | $pl_d | $pl_b |
| newlib-nano + libgcc (mem*, str*) | | | | | $xt | $xd | $xb |
| whole device program (the above + board, console, test code) | | | | | $bt | $bd | $bb |

One stub costs about $(( st / (stubs > 0 ? stubs : 1) )) bytes of .text ($st / $stubs).
RAM beyond the two buffers: sizeof(genrpc_emb_client) $client_struct + the client's
.data $cd + .bss $cb = $ram bytes (the stack is measured by the qemu run).
Targets: client .text $ct (at most $TEXT_LIMIT); RAM $ram (at most $RAM_LIMIT).
TABLE

status=0
if [ "$ct" -gt "$TEXT_LIMIT" ]; then
  echo "embedded-size: FAIL: the client's .text is $ct bytes, over the $TEXT_LIMIT-byte target" >&2
  status=1
fi
if [ "$ram" -gt "$RAM_LIMIT" ]; then
  echo "embedded-size: FAIL: the client's RAM beyond its buffers is $ram bytes, over the $RAM_LIMIT-byte target" >&2
  status=1
fi
[ $status = 0 ] && echo "embedded-size: OK"
exit $status
