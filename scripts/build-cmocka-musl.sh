#!/bin/sh
# Builds CMocka for musl from Debian's source package, as a static library, into
# /opt/cross/musl (or $1), and links the kernel's uapi headers there (musl-gcc searches only
# musl's own). Idempotent: does nothing once libcmocka.a is there.
set -eu
prefix=${1:-/opt/cross/musl}
[ -f "$prefix/lib/libcmocka.a" ] && [ -f "$prefix/lib/pkgconfig/cmocka.pc" ] && exit 0
work=${WORKDIR:-/tmp/cmocka-musl}
mkdir -p "$work" "$prefix/kernel"
src=$(find "$work" -maxdepth 1 -type d -name 'cmocka-[0-9]*' | sort | tail -n 1)
if [ -z "$src" ]; then
  (cd "$work" && apt-get source cmocka >/dev/null)
  src=$(find "$work" -maxdepth 1 -type d -name 'cmocka-[0-9]*' | sort | tail -n 1)
fi
cmake -S "$src" -B "$work/build" -G Ninja -DCMAKE_C_COMPILER=musl-gcc -DWITH_STATIC_LIB=ON \
  -DWITH_EXAMPLES=OFF -DUNIT_TESTING=OFF -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_INSTALL_PREFIX="$prefix" -DCMAKE_INSTALL_LIBDIR=lib >/dev/null
cmake --build "$work/build" >/dev/null
cmake --install "$work/build" >/dev/null
# Only the static library, under the name -lcmocka finds.
cp "$prefix/lib/libcmocka-static.a" "$prefix/lib/libcmocka.a"
rm -f "$prefix"/lib/libcmocka.so*
ln -sfn /usr/include/linux "$prefix/kernel/linux"
ln -sfn /usr/include/asm-generic "$prefix/kernel/asm-generic"
ln -sfn "/usr/include/$(gcc -dumpmachine)/asm" "$prefix/kernel/asm"
