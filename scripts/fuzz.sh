#!/usr/bin/env bash
# scripts/fuzz.sh BUILD SECONDS: builds the fuzz targets (tests/fuzz) for libFuzzer in BUILD
# (clang, -Dfuzz=true, ASan and UBSan; set up there if BUILD is not configured) and runs
# each for SECONDS on a copy of its seed corpus. Fails on any crash, leak or timeout; the
# input that caused it is left in BUILD/fuzz-artifacts/. Last line: the executions.
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:?usage: scripts/fuzz.sh BUILD SECONDS} seconds=${2:?usage: scripts/fuzz.sh BUILD SECONDS}
targets=$(sed -n "s/^fuzz_targets = \[\(.*\)\]/\1/p" tests/fuzz/meson.build | tr -d "',")
if [ ! -f "$build/build.ninja" ]; then
  CC=clang meson setup "$build" -Dwerror=true -Dfuzz=true -Db_sanitize=address,undefined \
    -Db_lundef=false -Dc_args=-fno-sanitize-recover=all >"$build.setup.log" 2>&1 ||
    { cat "$build.setup.log"; exit 1; }
fi
names=()
for t in $targets; do names+=("tests/fuzz/fuzz_$t"); done
meson compile -C "$build" "${names[@]}" >"$build.fuzz-compile.log" 2>&1 ||
  { cat "$build.fuzz-compile.log"; exit 1; }
mkdir -p "$build/fuzz-artifacts"
failed=0 report=""
for t in $targets; do
  work="$build/fuzz-corpus/$t"
  rm -rf "$work"; mkdir -p "$work"; cp tests/fuzz/corpus/"$t"/* "$work"/
  log="$build/fuzz-$t.log"
  # -timeout: one input taking 10 s is a hang; -rss_limit_mb: a runaway allocation.
  "$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$build/fuzz-artifacts/$t-" "$work" >"$log" 2>&1
  rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  if [ $rc -ne 0 ]; then
    tail -n 60 "$log"; failed=1; report="$report $t: FAILED (${runs:-?} runs);"
  else
    report="$report $t: ${runs:-?} runs;"
  fi
done
echo "fuzz:${report%;}"
exit $failed
