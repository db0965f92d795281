#!/bin/sh
# Installs the Debian/Ubuntu packages grilly needs that are missing.
# Usage: tools/deps.sh [--check]   (--check only reports, exit 1 if any is missing)
set -eu

PACKAGES="gcc make pkg-config luajit libluajit-5.1-dev lua-busted luarocks glslc \
libvulkan-dev mesa-vulkan-drivers vulkan-tools vulkan-validationlayers libopenblas-dev gnuplot-nox \
libreadline8 tmux zlib1g-dev dataset-fashion-mnist"
# MPI is optional for building (core.so never needs it); with it, make builds
# build/grilly/mpi.so for grilly.distributed and its specs run on 2 ranks.
PACKAGES="$PACKAGES libopenmpi-dev openmpi-bin"

missing=""
for p in $PACKAGES; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$status" in
        *"install ok installed"*) ;;
        *) missing="$missing $p" ;;
    esac
done

[ -z "$missing" ] && exit 0
if [ "${1:-}" = "--check" ]; then
    echo "missing packages:$missing"
    exit 1
fi

echo "grilly: installing missing packages:$missing"
if [ "$(id -u)" = 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
else
    echo "grilly: cannot install$missing: not root and no sudo." >&2
    echo "        Install them yourself: apt-get install$missing" >&2
    exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "grilly: no apt-get on this system; install the equivalents of:$missing" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing
