#!/usr/bin/env bash
# README command 2: installs every toolchain, then builds and runs the whole test suite on
# each target reachable here, and ends with one summary line per target:
#   linux-x86_64-gcc, linux-x86_64-clang-asan-ubsan, windows-x86_64-wine, linux-aarch64-qemu
# Exit status 0 only if every target passed.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
toolchain=${MPROC_TOOLCHAIN:-$root/../shared/toolchain}
scripts/setup.sh all || { echo "setup failed"; exit 1; }

summary=()
failed=0 total_ok=0 total_fail=0 total_skip=0
run_target() { # name builddir setup-args...
  local name=$1 dir=$2; shift 2
  local start=$SECONDS
  echo "=== $name"
  if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" "$@" >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log"; summary+=("$name: setup failed"); failed=1; return; }
  fi
  if ! meson compile -C "$dir" >"$dir.compile.log" 2>&1; then
    cat "$dir.compile.log"; summary+=("$name: build failed"); failed=1; return
  fi
  meson test -C "$dir" --no-rebuild --print-errorlogs --num-processes 2 >"$dir.test.log" 2>&1
  local rc=$?
  grep -E "^ *[0-9]+/[0-9]+ .*(FAIL|TIMEOUT)" "$dir.test.log" || true
  [ $rc -eq 0 ] || sed -n '/Summary of Failures/,$p' "$dir.test.log"
  local ok fail timeout skip
  ok=$(awk '/^Ok:/{print $2}' "$dir.test.log"); fail=$(awk '/^Fail:/{print $2}' "$dir.test.log")
  timeout=$(awk '/^Timeout:/{print $2}' "$dir.test.log"); skip=$(awk '/^Skipped:/{print $2}' "$dir.test.log")
  echo "$name took $((SECONDS - start)) s"
  summary+=("$name: ${ok:-0} passed, $(( ${fail:-0} + ${timeout:-0} )) failed, ${skip:-0} skipped")
  total_ok=$(( total_ok + ${ok:-0} )); total_fail=$(( total_fail + ${fail:-0} + ${timeout:-0} ))
  total_skip=$(( total_skip + ${skip:-0} ))
  [ $rc -eq 0 ] || failed=1
}

run_target linux-x86_64-gcc build-ci-gcc
CC=clang run_target linux-x86_64-clang-asan-ubsan build-ci-asan \
  -Db_sanitize=address,undefined -Db_lundef=false -Dc_args=-fno-sanitize-recover=all

export WINEPREFIX=${WINEPREFIX:-$root/build-ci-wineprefix} WINEDEBUG=-all,err+module
mkdir -p "$WINEPREFIX"
wineserver -p 2>/dev/null || true          # persistent server first, then warm the prefix
wineboot -i </dev/null >/dev/null 2>&1 || true
run_target windows-x86_64-wine build-ci-win --cross-file "$toolchain/x86_64-w64-mingw32.ini"
wineserver -k 2>/dev/null || true

run_target linux-aarch64-qemu build-ci-arm64 --cross-file "$toolchain/aarch64-linux-gnu.ini"

echo
echo "=== summary"
for line in "${summary[@]}"; do echo "$line"; done
[ ${#summary[@]} -eq 4 ] || failed=1
echo "total: $total_ok passed, $total_fail failed, $total_skip skipped"
exit $failed
