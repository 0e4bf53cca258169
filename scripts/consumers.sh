#!/usr/bin/env bash
# mproc as its users get it: installs the library into a temporary prefix, then builds and
# runs tests/consumer/consumer.c (a process on a typed task; exit code checked) five ways:
#   pkg-config shared, pkg-config --static, CMake find_package, meson subproject (natively)
#   and the DLL consumer, built with mingw against the installed Windows prefix, under Wine.
# One ok/FAILED line each; exit status 0 only if all passed.
#   scripts/consumers.sh [WORKDIR]     (default: a fresh temporary directory, removed after)
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
toolchain=${MPROC_TOOLCHAIN:-$root/../shared/toolchain}
if [ $# -ge 1 ]; then work=$1; mkdir -p "$work"; else work=$(mktemp -d); trap 'rm -rf "$work"' EXIT; fi
work=$(cd "$work" && pwd)
src=$root/tests/consumer
failed=0
results=()
step() { # name command...: runs it with its output in $work/name.log
  local name=$1; shift
  if "$@" >"$work/$name.log" 2>&1; then results+=("$name: ok")
  else results+=("$name: FAILED"); failed=1; echo "--- $name failed:"; tail -n 40 "$work/$name.log"; fi
}
bounded() { timeout "${TIMEOUT:-600}" "$@"; }

# The native installation (no tests, examples or benchmarks: only what is installed).
install_native() {
  bounded meson setup "$work/build" --prefix="$work/prefix" --libdir=lib -Dwerror=true \
    -Dtests=disabled -Dexamples=disabled -Dbench=disabled &&
    bounded meson compile -C "$work/build" && bounded meson install -C "$work/build"
}
step install install_native
export PKG_CONFIG_PATH=$work/prefix/lib/pkgconfig

pkgconfig_shared() {
  # shellcheck disable=SC2046 # pkg-config prints a list of flags
  cc -std=c11 -Wall -Wextra -Werror "$src/consumer.c" -o "$work/pc_shared" \
    $(pkg-config --cflags --libs 'mproc >= 1.0') -Wl,-rpath,"$work/prefix/lib" &&
    readelf -d "$work/pc_shared" | grep 'NEEDED.*libmproc.so.0' >/dev/null &&
    bounded "$work/pc_shared"
}
pkgconfig_static() {
  # The static library by name (-l:libmproc.a): the linker would take the .so for -lmproc.
  local cflags libs
  cflags=$(pkg-config --static --cflags mproc) && libs=$(pkg-config --static --libs mproc) &&
    case $cflags in *-DMPROC_STATIC*) ;; *) echo "no MPROC_STATIC in: $cflags"; return 1 ;; esac &&
    # shellcheck disable=SC2086
    cc -std=c11 -Wall -Wextra -Werror "$src/consumer.c" -o "$work/pc_static" $cflags \
      ${libs/-lmproc/-l:libmproc.a} &&
    ! readelf -d "$work/pc_static" | grep 'NEEDED.*libmproc' >/dev/null &&
    bounded "$work/pc_static"
}
cmake_consumer() {
  bounded cmake -S "$src" -B "$work/cmake" -DCMAKE_PREFIX_PATH="$work/prefix" &&
    bounded cmake --build "$work/cmake" &&
    readelf -d "$work/cmake/consumer" | grep 'NEEDED.*libmproc.so.0' >/dev/null &&
    bounded "$work/cmake/consumer" && bounded "$work/cmake/consumer_static"
}
meson_subproject() {
  # A parent project with this tree as subprojects/mproc: only the library gets built.
  mkdir -p "$work/parent/subprojects" && cp "$src/consumer.c" "$src/meson.build" "$work/parent/" &&
    ln -sfn "$root" "$work/parent/subprojects/mproc" &&
    env -u PKG_CONFIG_PATH meson setup "$work/parent/build" "$work/parent" \
      --force-fallback-for=mproc &&
    bounded meson compile -C "$work/parent/build" &&
    if [ -n "$(find "$work/parent/build/subprojects" -type f \( -name 'test_*' -o -name first \
        -o -name bench_mproc \))" ]; then echo "the subproject built examples or tests"; return 1; fi &&
    bounded "$work/parent/build/consumer"
}
step pkg-config-shared pkgconfig_shared
step pkg-config-static pkgconfig_static
step cmake-find-package cmake_consumer
step meson-subproject meson_subproject

# Windows: the DLL from an installed mingw prefix, the consumer built against its mproc.pc.
wine_dll() {
  local cross=$toolchain/x86_64-w64-mingw32.ini wprefix=$work/prefix-win
  bounded meson setup "$work/build-win" --cross-file "$cross" --prefix="$wprefix" --libdir=lib \
    -Dwerror=true -Dtests=disabled -Dexamples=disabled -Dbench=disabled &&
    bounded meson compile -C "$work/build-win" && bounded meson install -C "$work/build-win" &&
    # shellcheck disable=SC2046
    x86_64-w64-mingw32-gcc -std=c11 -Wall -Wextra -Werror "$src/consumer.c" -o "$work/consumer.exe" \
      $(env -u PKG_CONFIG_PATH PKG_CONFIG_LIBDIR="$wprefix/lib/pkgconfig" pkg-config --cflags --libs mproc) &&
    x86_64-w64-mingw32-objdump -p "$work/consumer.exe" | grep 'DLL Name: libmproc-0.dll' >/dev/null &&
    cp "$wprefix/bin/libmproc-0.dll" "$work/" &&
    WINEPREFIX=${WINEPREFIX:-$work/wineprefix} WINEDEBUG=-all bounded wine "$work/consumer.exe"
}
if command -v x86_64-w64-mingw32-gcc >/dev/null && command -v wine >/dev/null; then
  step wine-dll wine_dll
else
  results+=("wine-dll: FAILED (no mingw-w64 or Wine: scripts/setup.sh all)"); failed=1
fi

for line in "${results[@]}"; do echo "$line"; done
exit $failed
