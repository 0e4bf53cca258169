#!/usr/bin/env bash
# README command 1: installs the native toolchain, builds, runs the flagship example.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh native
[ -d build ] || meson setup build >/dev/null
meson compile -C build >/dev/null
exec build/examples/tour
