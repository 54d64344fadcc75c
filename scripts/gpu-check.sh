#!/usr/bin/env bash
# The GPU check, in stages that each fit one command on a lent GPU machine (15 minutes of device
# time in all, its start included; at most 10 minutes a command; 16 cores, CUDA 13 and cuDNN 9 in
# /usr/local/cuda or in PyTorch's wheel, a compiler and CMake, no network). The CPU suites do not
# run there: CI runs them.
#
# Here, first: bash scripts/gpu-deps.sh (it fills .gpu-carry/ with the Debian libraries roentgen
# builds with and ../shared/reference/densenet121, about 55 MB). Then, with the device tool, in order:
#   run  command "bash scripts/gpu-check.sh smoke"  carry [".gpu-carry"]  timeout_s 240
#   run  command "bash scripts/gpu-check.sh full"   carry [".gpu-carry"]  timeout_s 330
#   run  command "bash scripts/gpu-check.sh bench"  carry [".gpu-carry"]  timeout_s 240
# one right after the other (a machine left idle for 30 s goes back, and a fresh one builds again).
# Each stage builds what it needs into build-gpu/ (a later stage on the same warm machine reuses
# it; a fresh machine builds again, for this GPU's architecture only), prints its budget when it
# starts, and writes its log and results under $OUT as it goes, so a timeout still returns what
# ran. `bash scripts/gpu-check.sh --plan` prints the stages and budgets and runs nothing.
#
#   smoke  (3.5 min) build cuda_tests and roentgen; with ROENTGEN_CUDA_SYNC=1 and cuDNN's error log
#                   on, the layer-kernel cases of cuda_tests first (batch norm on a channel prefix,
#                   max-pool ties and NaN, average-pool backward settle in seconds), then
#                   DenseNet121 on the GPU against ../shared/reference/densenet121
#   full   (5 min)   every cuda_tests case (training steps on the CPU and the GPU from the same
#                   weights among them); compute-sanitizer memcheck on the layer-kernel cases with
#                   ROENTGEN_CUDA_NO_CACHE=1 (one cudaMalloc per tensor, so overruns show); a
#                   sandbox that refuses the sanitizer counts as "not available", not as a failure
#   bench  (3.5 min) roentgen bench, DenseNet121 training and inference at 224 batch 64 and 320
#                   batch 32, TF32 off and on: images/s, peak GPU memory and the fraction of the
#                   GPU's FP32/TF32 peak, as a table for bench/RESULTS.md ($OUT/gpu-bench.md)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

declare -A budget=([smoke]=210 [full]=300 [bench]=210)  # seconds; a machine's start takes the rest of 15 min
declare -A what=(
  [smoke]="build cuda_tests + roentgen; layer-kernel cases (ROENTGEN_CUDA_SYNC=1, cuDNN error log); DenseNet121 vs PyTorch's reference"
  [full]="every cuda_tests case; compute-sanitizer memcheck on the layer kernels with ROENTGEN_CUDA_NO_CACHE=1"
  [bench]="roentgen bench train/infer at 224/64 and 320/32, TF32 off and on; table in \$OUT/gpu-bench.md")

stage=${1:-}
if [ "$stage" = "--plan" ]; then
  for s in smoke full bench; do
    printf '%-6s %4d s  bash scripts/gpu-check.sh %s\n       %s\n' "$s" "${budget[$s]}" "$s" "${what[$s]}"
  done
  echo "total  $((budget[smoke] + budget[full] + budget[bench])) s of device time, starts not included"
  exit 0
fi
if [ -z "$stage" ] || [ -z "${budget[$stage]:-}" ]; then
  echo "usage: bash scripts/gpu-check.sh smoke|full|bench|--plan" >&2
  exit 2
fi

out=${OUT:-.}
exec > >(tee "$out/gpu-check-$stage.log") 2>&1
start=$(date +%s)
elapsed() { echo "[$(($(date +%s) - start)) s of ${budget[$stage]}]"; }
left() { echo $((budget[$stage] - ($(date +%s) - start))); }
status=0
export PATH=/usr/local/cuda/bin:$PATH
echo "=== gpu-check $stage: a budget of ${budget[$stage]} s: ${what[$stage]} ==="
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,compute_cap --format=csv || echo "nvidia-smi failed"

# The Debian libraries carried in .gpu-carry/debs, unpacked beside the tree (never into /), and
# cuDNN from /usr/local/cuda or PyTorch's wheel.
prepare() {
  cmake_args=(-DCMAKE_BUILD_TYPE=Release -DROENTGEN_CUDA=ON -DROENTGEN_BUILD_BENCH=OFF)
  local arch
  arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d ' .')
  [ -n "$arch" ] && cmake_args+=(-DCMAKE_CUDA_ARCHITECTURES="$arch")  # this GPU only: half the nvcc time
  if [ -d .gpu-carry/debs ]; then
    local prefix=$PWD/.gpu-carry/root lib
    [ -d "$prefix" ] || for deb in .gpu-carry/debs/*.deb; do dpkg-deb -x "$deb" "$prefix"; done
    lib=$prefix/usr/lib/x86_64-linux-gnu
    # zlib1g-dev's libz.so points at Debian's libz.so.1.2.13: point it at this machine's libz.so.1.
    if [ ! -e "$lib/libz.so" ]; then
      local system_z
      system_z=$(ldconfig -p | awk '/libz\.so\.1 .*x86-64/ {print $NF; exit}')
      [ -n "$system_z" ] && ln -sf "$system_z" "$lib/libz.so"
    fi
    export LD_LIBRARY_PATH=$lib:$lib/openblas-pthread:${LD_LIBRARY_PATH:-}
    cmake_args+=(-DROENTGEN_DEPS_PREFIX="$prefix")
  fi
  if [ -z "${CUDNN_ROOT:-}" ] && [ ! -e /usr/local/cuda/include/cudnn.h ]; then
    # The cu13 wheel is a namespace package (no __init__.py, so no __file__): take its __path__.
    CUDNN_ROOT=$(python3 -c "import nvidia.cudnn; print(list(nvidia.cudnn.__path__)[0])" 2>/dev/null) &&
      export CUDNN_ROOT && echo "cuDNN from PyTorch's wheel: $CUDNN_ROOT"
  fi
  [ -n "${CUDNN_ROOT:-}" ] && export LD_LIBRARY_PATH=$CUDNN_ROOT/lib:${LD_LIBRARY_PATH:-}
  [ -f .gpu-carry/reference/densenet121/model.safetensors ] &&
    export ROENTGEN_REFERENCE_DIR=$PWD/.gpu-carry/reference/densenet121
  return 0
}

build() {
  echo "=== build: $* $(elapsed) ==="
  if ! { cmake -S . -B build-gpu "${cmake_args[@]}" >"$out/gpu-check-cmake.log" 2>&1 &&
         cmake --build build-gpu -j "$(nproc)" --target "$@" 2>&1 | grep -E "error|warning: |Built target" ; }; then
    tail -40 "$out/gpu-check-cmake.log"
  fi
  for target in "$@"; do
    [ -x "build-gpu/bin/$target" ] || { echo "=== gpu-check $stage: FAILED (build of $target) $(elapsed) ==="; exit 1; }
  done
  grep -E "roentgen backends" "$out/gpu-check-cmake.log"
}

# cuda_tests with doctest's filters, stopped in time to leave the stage's last seconds for the report.
cuda_tests() {
  local limit=$(($(left) - 15))
  [ "$limit" -gt 10 ] || { echo "no time left for cuda_tests $*"; status=1; return; }
  echo "=== cuda_tests $* $(elapsed) ==="
  timeout "$limit" build-gpu/bin/cuda_tests --duration=true "$@" || { echo "cuda_tests $*: FAILED (exit $?)"; status=1; }
}

layer_cases='cuDNN: every layer kernel*,cuDNN: batch norm*,cuDNN: an empty batch*'

prepare
case $stage in
  smoke)
    build cuda_tests roentgen
    export ROENTGEN_CUDA_SYNC=1 CUDNN_LOGLEVEL_DBG=2 CUDNN_LOGDEST_DBG=stderr
    cuda_tests --test-case="$layer_cases"
    cuda_tests --test-case='parity on the GPU*'
    ;;
  full)
    build cuda_tests roentgen
    cuda_tests
    if ! command -v compute-sanitizer >/dev/null; then
      echo "=== memcheck: not available (compute-sanitizer is not installed) ==="
    else
      echo "=== compute-sanitizer memcheck, one cudaMalloc per tensor $(elapsed) ==="
      ROENTGEN_CUDA_NO_CACHE=1 timeout $(($(left) > 30 ? $(left) - 10 : 20)) compute-sanitizer --tool memcheck --error-exitcode 9 \
        build-gpu/bin/cuda_tests --test-case="$layer_cases,CUDA: the fused*,CUDA: elementwise*" \
        >"$out/gpu-memcheck.log" 2>&1
      code=$?
      tail -25 "$out/gpu-memcheck.log"
      if grep -q "ERROR SUMMARY: 0 errors" "$out/gpu-memcheck.log" && [ $code -eq 0 ]; then
        echo "memcheck: no errors"
      elif grep -q "ERROR SUMMARY" "$out/gpu-memcheck.log"; then
        echo "memcheck: FAILED (exit $code)"; status=1
      else
        echo "memcheck: not available here (the sanitizer did not run; exit $code)"
      fi
    fi
    ;;
  bench)
    build roentgen
    gpu_name=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
    results=$out/gpu-bench.jsonl
    : >"$results"
    for mode in train infer; do
      for config in "224 64" "320 32"; do
        set -- $config
        for tf32 in off on; do
          [ "$(left)" -gt 40 ] || { echo "no time left for bench $mode $1/$2 tf32 $tf32"; status=1; continue; }
          line=$(timeout 60 build-gpu/bin/roentgen bench --mode "$mode" --image-size "$1" --batch-size "$2" --iters 6 \
                 --warmup 2 --device cuda --tf32 "$tf32" | tail -1) || { status=1; echo "bench $mode $1/$2 tf32 $tf32: FAILED"; continue; }
          echo "$line" | tee -a "$results"
        done
      done
    done
    # Convolution TFLOP/s as a fraction of the GPU's dense peak: 67 TFLOP/s FP32 and 495 TF32 on an
    # H100/H200 SXM (NVIDIA's data sheets; other GPUs: edit here).
    python3 - "$results" "$gpu_name" "$out/gpu-bench.md" <<'PY' || status=1
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
fp32, tf32 = 67.0, 495.0
lines = [f"DenseNet121 on {sys.argv[2]} (roentgen bench, float32, median of 6 steps after 2 warm-up):", "",
         "| mode | size | batch | TF32 | images/s | ms/step | peak GPU GiB | conv TFLOP/s | % FP32 peak | % TF32 peak |",
         "|---|---|---|---|---|---|---|---|---|---|"]
for r in rows:
    t = r["tflops"]
    lines.append(f"| {r['mode']} | {r['image_size']} | {r['batch_size']} | {'on' if r['tf32'] else 'off'} | "
                 f"{r['images_per_s']:.0f} | {1000 * r['step_s']['median']:.1f} | {r['peak_bytes'] / 2**30:.2f} | "
                 f"{t:.1f} | {100 * t / fp32:.0f}% | {100 * t / tf32:.0f}% |")
open(sys.argv[3], "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
    ;;
esac

echo "=== gpu-check $stage: $([ $status -eq 0 ] && echo PASSED || echo FAILED) $(elapsed) ==="
exit $status
