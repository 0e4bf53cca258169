#!/usr/bin/env bash
# README command 2: installs every toolchain, then builds and runs the whole test suite on
# each target reachable here, and ends with one summary line per target:
#   linux-x86_64-gcc, linux-x86_64-clang-asan-ubsan, linux-x86_64-clang-tsan (the thread
#   pool's and the manager's suites), linux-x86_64-gcc-shared (suites against libmproc.so),
#   windows-x86_64-wine, windows-x86_64-wine-dll (suites against the DLL), linux-aarch64-qemu,
#   linux-i686 (32-bit), linux-s390x-qemu (big-endian), linux-x86_64-portable-posix (the
#   macOS/BSD fallbacks of posix/, on Linux), linux-x86_64-musl (another C library, static)
# one for the fuzz targets under libFuzzer (scripts/fuzz.sh: each target 20 s; every
# target above also replays their seed corpora as the 'fuzz' suite),
# one for the house (scripts/check-house.py on the gcc and the Windows builds: layers,
# file sizes, formatting; and the reference manual: no public function without a comment)
# and one for the consumers (scripts/consumers.sh: pkg-config, CMake, meson, the DLL).
# Exit status 0 only if every line passed.
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
    meson setup "$dir" -Dwerror=true "$@" >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log"; summary+=("$name: setup failed"); failed=1; return; }
  fi
  if ! meson compile -C "$dir" >"$dir.compile.log" 2>&1; then
    cat "$dir.compile.log"; summary+=("$name: build failed"); failed=1; return
  fi
  # shellcheck disable=SC2086 # TEST_SUITES is a list of meson arguments
  local selection=${TEST_SUITES:-} left_out=""
  if [ -n "${LEAVE_OUT:-}" ]; then # the cases named there are not run, and the summary says so
    selection=$(meson test -C "$dir" --no-rebuild --list ${TEST_SUITES:-} 2>/dev/null |
                sed 's|.* / ||' | grep -v -x -F "$(echo "$LEAVE_OUT" | tr ' ' '\n')")
    left_out=" (not run here: $LEAVE_OUT)"
  fi
  # shellcheck disable=SC2086
  meson test -C "$dir" --no-rebuild --print-errorlogs --num-processes 2 $selection \
    >"$dir.test.log" 2>&1
  local rc=$?
  local ok fail timeout skip bad retried=""
  ok=$(awk '/^Ok:/{print $2}' "$dir.test.log"); fail=$(awk '/^Fail:/{print $2}' "$dir.test.log")
  timeout=$(awk '/^Timeout:/{print $2}' "$dir.test.log"); skip=$(awk '/^Skipped:/{print $2}' "$dir.test.log")
  bad=$(( ${fail:-0} + ${timeout:-0} ))
  if [ $rc -ne 0 ]; then
    # Everything but the passing lines: the failing tests' own output, then meson's summary.
    grep -v -E "^ *[0-9]+/[0-9]+ .* OK " "$dir.test.log" | tail -n 400
    local names
    names=$(sed -n '/Summary of Failures/,$p' "$dir.test.log" |
            sed -n -E 's|^ *[0-9]+/[0-9]+ +[^ ]+ / ([^ ]+) .*|\1|p' | sort -u)
    # Wine alone: a test that failed is run once more, on its own, and the summary names it.
    # A Wine process now and then stalls at start-up under load (seen: one example test,
    # once in several hundred runs; on one CI machine, four tests in one run); a real
    # failure fails twice. More than six failures is not load: no retry then.
    if [ "${RETRY_FAILED:-0}" = 1 ] && [ -n "$names" ] && [ "$(echo "$names" | wc -l)" -le 6 ]; then
      rc=0
      for t in $names; do
        echo "--- retrying $t alone"
        if meson test -C "$dir" --no-rebuild --print-errorlogs "$t" >"$dir.retry.log" 2>&1; then
          ok=$(( ${ok:-0} + 1 )); bad=$(( bad - 1 )); retried="$retried $t"
        else
          cat "$dir.retry.log" | tail -n 200; rc=1
        fi
      done
    fi
  fi
  echo "$name took $((SECONDS - start)) s"
  summary+=("$name: ${ok:-0} passed, $bad failed, ${skip:-0} skipped${retried:+ (passed only on a second run:$retried)}$left_out")
  total_ok=$(( total_ok + ${ok:-0} )); total_fail=$(( total_fail + bad ))
  total_skip=$(( total_skip + ${skip:-0} ))
  [ $rc -eq 0 ] || failed=1
}

run_target linux-x86_64-gcc build-ci-gcc
# The suites that use only the public API, linked to the shared library (-Dtest_link=shared;
# core, hmac, net and manager reach internals and link the static one): what a user gets.
TEST_SUITES="--suite process --suite queue --suite pool --suite sync --suite conn" \
  run_target linux-x86_64-gcc-shared build-ci-shared -Dtest_link=shared
CC=clang run_target linux-x86_64-clang-asan-ubsan build-ci-asan \
  -Db_sanitize=address,undefined -Db_lundef=false -Dc_args=-fno-sanitize-recover=all
# ThreadSanitizer on the suites whose point is threads sharing one process (the thread
# pool; the manager server, one thread per connection, and proxies used from threads).
TEST_SUITES="--suite threadpool --suite manager" CC=clang run_target linux-x86_64-clang-tsan build-ci-tsan \
  -Db_sanitize=thread -Db_lundef=false

export WINEPREFIX=${WINEPREFIX:-$root/build-ci-wineprefix} WINEDEBUG=-all,err+module
mkdir -p "$WINEPREFIX"
wineserver -p 2>/dev/null || true          # persistent server first, then warm the prefix
wineboot -i </dev/null >/dev/null 2>&1 || true
RETRY_FAILED=1 run_target windows-x86_64-wine build-ci-win --cross-file "$toolchain/x86_64-w64-mingw32.ini"
# The same suites as the shared native run, against the DLL (dllexport/dllimport).
TEST_SUITES="--suite process --suite queue --suite pool --suite sync --suite conn" RETRY_FAILED=1 \
  run_target windows-x86_64-wine-dll build-ci-win-dll -Dtest_link=shared \
  --cross-file "$toolchain/x86_64-w64-mingw32.ini"
wineserver -k 2>/dev/null || true

run_target linux-aarch64-qemu build-ci-arm64 --cross-file "$toolchain/aarch64-linux-gnu.ini"
# 32-bit: size_t of 32 bits, 64-bit atomics on a 32-bit CPU; native on an x86_64 kernel that
# runs 32-bit programs, else under qemu-i386 (setup.sh).
# Under qemu-i386 7.2 a child forked from a process whose threads are running can abort inside
# the emulator (rcu_read_unlock and qemu_plugin_vcpu_init_hook assertions, seen in every run
# of these three: the pool forks a replacement worker while its threads run); the same cases
# pass natively, on aarch64 and on s390x, so under emulation they are left out.
i686_leave_out=""
[ -e /proc/sys/fs/binfmt_misc/mproc-i386 ] &&
  i686_leave_out="pool/worker_killed_fork pool/exit_inside_task_fork pool/maxtasksperchild_fork"
LEAVE_OUT=$i686_leave_out run_target linux-i686 build-ci-i686 --cross-file scripts/cross/i686-linux-gnu.ini
# Big-endian: the packs and the manager's frames stay little-endian on the wire.
run_target linux-s390x-qemu build-ci-s390x --cross-file scripts/cross/s390x-linux-gnu.ini
# The POSIX backend without its Linux-only calls: the paths macOS and the BSDs take
# (doc/design.md, "Linux and the other POSIX systems").
run_target linux-x86_64-portable-posix build-ci-portable -Dportable_posix=true
# Another C library: musl (strict headers, its own posix_spawn and stdio), linked statically.
run_target linux-x86_64-musl build-ci-musl --cross-file scripts/cross/x86_64-linux-musl.ini

# The fuzz targets under libFuzzer, 20 s each (clang, ASan, UBSan): a crash, leak or hang fails.
echo "=== fuzz"
start=$SECONDS
if scripts/fuzz.sh build-ci-fuzz 20 >build-ci-fuzz.log 2>&1; then
  summary+=("$(tail -n 1 build-ci-fuzz.log)")
else
  tail -n 80 build-ci-fuzz.log; summary+=("fuzz: FAILED (see above)"); failed=1
fi
echo "fuzz took $((SECONDS - start)) s"

# The house: the layers on both platforms' objects, file sizes, and the formatting.
echo "=== house"
house_ok=1
python3 scripts/check-house.py build-ci-gcc --format || house_ok=0
python3 scripts/check-house.py build-ci-win || house_ok=0
# The reference manual builds, with a comment on every public function (doc/manual/check.py).
meson compile -C build-ci-gcc docs >build-ci-gcc.docs.log 2>&1 || { tail -n 40 build-ci-gcc.docs.log; house_ok=0; }
if [ $house_ok = 1 ]; then summary+=("house: layers, sizes, format and the manual as doc/design.md says")
else summary+=("house: FAILED (see above)"); failed=1; fi

echo "=== consumers"
start=$SECONDS
if timeout 1800 scripts/consumers.sh >build-ci-consumers.log 2>&1; then
  summary+=("consumers: $(grep -c ': ok$' build-ci-consumers.log) ways built and ran (pkg-config shared and static, CMake, meson subproject, DLL under Wine)")
else
  tail -n 60 build-ci-consumers.log; summary+=("consumers: FAILED (see above)"); failed=1
fi
echo "consumers took $((SECONDS - start)) s"

echo
echo "=== summary"
for line in "${summary[@]}"; do echo "$line"; done
[ ${#summary[@]} -eq 14 ] || failed=1 # every target (and the house) must have reported
echo "total: $total_ok passed, $total_fail failed, $total_skip skipped"
exit $failed
