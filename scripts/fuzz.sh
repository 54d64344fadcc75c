#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang (ASan + UBSan) and runs each for SECONDS
# (default 60), starting from its committed seed corpus in tests/fuzz/corpus/. Any crash, leak,
# sanitizer report, uncaught exception (anything but rg::Error) or timeout fails it; the input
# that failed is kept as build-fuzz/artifacts/<target>-crash-*.
#   scripts/fuzz.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
command -v clang++ >/dev/null || { echo "fuzz: clang++ not found (apt-get install clang libclang-rt-dev)" >&2; exit 1; }
targets=(fuzz_safetensors fuzz_labels fuzz_predictions fuzz_image fuzz_pack fuzz_dicom)
CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DROENTGEN_FUZZ=ON -DROENTGEN_CUDA=OFF -DROENTGEN_MPI=OFF \
  -DROENTGEN_BUILD_BENCH=OFF -DBUILD_TESTING=OFF >/dev/null
cmake --build build-fuzz -j "$(nproc)" --target "${targets[@]}" roentgen-decode-j2k  # the fuzzers run JPEG 2000 through it
mkdir -p build-fuzz/artifacts
for target in "${targets[@]}"; do
  corpus=tests/fuzz/corpus/${target#fuzz_}
  found=$(mktemp -d)  # new inputs go here, never into the committed corpus
  echo "=== $target: ${seconds} s from $corpus ==="
  log=build-fuzz/artifacts/$target.log
  if ! ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=tests/fuzz/lsan.supp UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
       "build-fuzz/bin/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="build-fuzz/artifacts/$target-" "$found" "$corpus" >"$log" 2>&1; then
    grep -v '^#[0-9]' "$log" | tail -80
    echo "=== fuzz: $target failed; the input is in build-fuzz/artifacts/, the whole log in $log ===" >&2
    exit 1
  fi
  grep -E '^stat::(number_of_executed_units|new_units_added|peak_rss_mb)' "$log"
  rm -rf "$found"
done
echo "=== fuzz: every target ran ${seconds} s without a finding ==="
