#!/usr/bin/env bash
# deps.sh — installs what Volt needs to build and test on Debian 12, by package name.
# Idempotent and quick when everything is present. Uses sudo when not run as root.
set -euo pipefail
PKGS=(build-essential cmake ninja-build pkg-config
      luajit libluajit-5.1-dev
      libopenblas-openmp-dev
      libedit-dev zlib1g-dev
      lua-busted
      clang libclang-rt-14-dev                          # the libFuzzer target (tools/fuzz.sh)
      python3 python3-venv                              # interop specs: safetensors/numpy from PyPI
      dataset-fashion-mnist bible-kjv bible-kjv-text)   # data the examples and specs use
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#PKGS[@]} packages present"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
