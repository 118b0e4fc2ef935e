#!/usr/bin/env bash
# fuzz.sh — builds the checkpoint reader's libFuzzer target (fuzz/ckpt_fuzz.c, with the whole
# runtime compiled by clang under ASan + UBSan) and runs it for a bounded time over the corpus in
# spec/fixtures/ckpt (the valid fixture, the bad-file regression corpus, and files Volt writes).
#
#   tools/fuzz.sh [seconds=60] [extra libFuzzer flags...]
#
# Exit status 0 when no crash was found. A crash leaves crash-* files in build-fuzz/; copy the
# file into spec/fixtures/ckpt/bad/, add a line to bad/MANIFEST with the expected error, fix.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
shift || true
CC=${FUZZ_CC:-$(command -v clang-14 || command -v clang)}
out=build-fuzz
mkdir -p "$out/corpus"
ma=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
blas_inc=/usr/include/$ma/openblas-openmp
blas_lib=/usr/lib/$ma/openblas-openmp
[ -d "$blas_inc" ] || blas_inc=/usr/include/$ma/openblas-pthread
[ -d "$blas_lib" ] || blas_lib=/usr/lib/$ma/openblas-pthread
srcs=$(find runtime/src -name '*.c' ! -path '*/host/*' ! -path '*/cuda/*' | sort)
echo "== building $out/ckpt_fuzz with $CC"
# shellcheck disable=SC2086
"$CC" -g -O1 -std=c11 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -fopenmp=libgomp -D_GNU_SOURCE -DVOLT_VERSION_STRING='"fuzz"' -DVOLT_BLAS_FLAVOUR='"fuzz"' \
  -Iruntime/include -Iruntime/src -I"$blas_inc" -w \
  fuzz/ckpt_fuzz.c $srcs -L"$blas_lib" -Wl,-rpath,"$blas_lib" -lopenblas -lgomp -lz -lm -lpthread \
  -o "$out/ckpt_fuzz"
# seeds: the committed corpus (read-only) plus a working corpus that grows across runs
seeds=spec/fixtures/ckpt
echo "== fuzzing for ${secs}s (seeds: $seeds, working corpus: $out/corpus)"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export OMP_NUM_THREADS=1
status=0
"$out/ckpt_fuzz" -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 -timeout=10 \
  -artifact_prefix="$out/" -print_final_stats=1 "$@" "$out/corpus" "$seeds" "$seeds/bad" \
  >"$out/fuzz.log" 2>&1 || status=$?
grep -E '^#[0-9]+ *(DONE|INITED)|stat::number_of_executed_units|ERROR|SUMMARY|runtime error|Test unit written' "$out/fuzz.log" || true
if [ "$status" -ne 0 ]; then
  echo "fuzz: FAILED (exit $status); see $out/fuzz.log" >&2
  exit 1
fi
echo "fuzz: no crash in ${secs}s ($(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$out/fuzz.log" | grep -oE '[0-9]+$') executions)"
