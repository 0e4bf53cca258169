#!/usr/bin/env bash
# Installs everything the build and the tests need on a fresh Debian 12 machine, following
# ../shared/toolchain/NOTES.md. Safe to run again: each step is skipped once done.
#   scripts/setup.sh native     gcc, clang + sanitizers, clang-format, meson, cmocka, python3,
#                               cmake (the CMake consumer), doxygen (the manual)
#   scripts/setup.sh all        native + mingw-w64/Wine + aarch64/qemu-user + i686 + s390x +
#                               musl (default)
set -euo pipefail
what=${1:-all}
here=$(cd "$(dirname "$0")/.." && pwd)
toolchain=${MPROC_TOOLCHAIN:-$here/../shared/toolchain}
export DEBIAN_FRONTEND=noninteractive
sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo

apt_install() { $sudo apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "$@" >/dev/null; }

if [ ! -f /etc/apt/sources.list.d/debian-src.sources ]; then
  $sudo tee /etc/apt/sources.list.d/debian-src.sources >/dev/null <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  need_update=1
fi
for arch in arm64 i386 s390x; do
  if [ "$what" = all ] && ! dpkg --print-foreign-architectures | grep -qx $arch; then
    $sudo dpkg --add-architecture $arch
    need_update=1
  fi
done
if [ -n "${need_update:-}" ] || [ ! -d /var/lib/apt/lists ] || [ -z "$(ls /var/lib/apt/lists 2>/dev/null | head -1)" ]; then
  $sudo apt-get update >/dev/null
fi

echo "setup: native toolchain"
apt_install build-essential meson ninja-build pkg-config libcmocka-dev clang libclang-rt-14-dev \
  clang-format-14 python3 procps cmake doxygen
[ "$what" = all ] || exit 0

echo "setup: Windows cross toolchain and Wine"
apt_install gcc-mingw-w64-x86-64 wine wine64 cmake dpkg-dev
"$toolchain/build-cmocka-cross.sh" x86_64-w64-mingw32 /opt/cross/x86_64-w64-mingw32 >/dev/null

echo "setup: aarch64 cross toolchain and qemu-user"
apt_install gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user libcmocka-dev:arm64
# exec of an aarch64 binary from inside qemu-user (the spawn start method) needs binfmt_misc
mountpoint -q /proc/sys/fs/binfmt_misc || $sudo mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc || true
apt_install qemu-user-binfmt binfmt-support
echo "setup: i686 cross toolchain (the 32-bit programs run on multiarch's libc6:i386)"
apt_install gcc-i686-linux-gnu libc6-dev-i386-cross libcmocka-dev:i386
# Some kernels here run no 32-bit program (ia32 emulation off: "Exec format error", seen on
# a CI machine and on a session's machine): then qemu-i386 runs them, through binfmt_misc so
# that the spawn start method's exec of itself works too. A kernel that runs them keeps that.
probe=$(mktemp -d)
echo 'int main(void) { return 0; }' >"$probe/p.c"
i686-linux-gnu-gcc "$probe/p.c" -o "$probe/p"
if ! "$probe/p" 2>/dev/null && [ ! -e /proc/sys/fs/binfmt_misc/mproc-i386 ]; then
  echo "setup: this kernel runs no 32-bit program: i686 under qemu-i386 (binfmt_misc)"
  printf '%s' ':mproc-i386:M::\x7fELF\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x03\x00:\xff\xff\xff\xff\xff\xfe\xfe\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff:/usr/bin/qemu-i386:F' |
    $sudo tee /proc/sys/fs/binfmt_misc/register >/dev/null
fi
"$probe/p" || { echo "setup: a 32-bit program does not run here"; exit 1; }
rm -rf "$probe"
echo "setup: s390x cross toolchain (big-endian, under the qemu-user installed above)"
apt_install gcc-s390x-linux-gnu libc6-dev-s390x-cross libcmocka-dev:s390x
echo "setup: musl (Debian's musl-tools; cmocka built for it from Debian's source package)"
apt_install musl-tools cmake ninja-build dpkg-dev linux-libc-dev
"$here/scripts/build-cmocka-musl.sh" /opt/cross/musl
echo "setup: done"
