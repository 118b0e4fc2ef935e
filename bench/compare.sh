#!/usr/bin/env bash
# bench/compare.sh — Volt against PyTorch on the same training jobs, side by side (issue: CPU
# performance). Builds Volt (Release) if needed, creates and reuses the peer's virtual environment
# (current PyTorch from PyPI, CPU use only) in build/bench-venv — or uses $VOLT_BENCH_PYTHON, a
# python that already imports torch — then runs bench/compare.py: every job on both sides,
# interleaved, one table, written to bench/RESULTS.md.
#   bench/compare.sh [--quick] [--rounds N]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x build/volt ]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build
fi
py="${VOLT_BENCH_PYTHON:-}"
if [ -z "$py" ]; then
  venv=build/bench-venv
  if ! "$venv/bin/python" -c 'import torch' 2>/dev/null; then
    echo "# creating $venv with PyTorch from PyPI (one time; a large download)"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --upgrade pip
    "$venv/bin/pip" install --quiet torch numpy
  fi
  py="$venv/bin/python"
fi
exec python3 bench/compare.py --volt build/volt --peer-python "$py" --results bench/RESULTS.md "$@"
