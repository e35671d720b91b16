#!/bin/sh
# Debian packages the test suite needs beyond Python: a headless Chromium for the
# dashboard test, the Arm and RISC-V cross-compilers for the machine-code proof,
# Verilator for cycle-exact runs of open RISC-V cores (docs/rtl.md), and the host's C
# compiler and headers for the executor's compiled row sums (docs/graph.md section 7).
# Installs only what is missing; uses sudo when not root.
set -eu
packages="chromium gcc-arm-none-eabi gcc-riscv64-unknown-elf verilator gcc libc6-dev"
missing=""
for package in $packages; do
    dpkg -s "$package" >/dev/null 2>&1 || missing="$missing $package"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -eq 0 ]; then run=""; else run="sudo"; fi
echo "installing:$missing" >&2
$run apt-get update -qq
DEBIAN_FRONTEND=noninteractive $run apt-get install -y -qq --no-install-recommends $missing >/dev/null
