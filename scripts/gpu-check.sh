#!/usr/bin/env bash
# The GPU check, for a bare machine with an NVIDIA GPU, CUDA 13 in /usr/local/cuda, cuDNN 9 (there
# or in PyTorch's wheel), a compiler, CMake, 16 cores and no network:
#   1. unpack the Debian libraries carried in .gpu-carry/debs (made here by scripts/gpu-deps.sh)
#   2. build with CUDA on every core
#   3. run every test suite (the GPU suite compares each CUDA/cuDNN kernel with the CPU and runs
#      DenseNet121 against PyTorch's reference tensors, carried in .gpu-carry/reference)
#   4. compute-sanitizer memcheck on the cuDNN layer tests, when it is installed
#   5. roentgen bench: DenseNet121 training and inference at 224 (batch 32, 64) and 320 (batch 16,
#      32), TF32 off and on — a table, printed last and written to $OUT/gpu-bench.md
# Everything printed also goes to ${OUT:-.}/gpu-check.log. Sized to finish in under 8 minutes on an
# H100 (an estimate: it has not yet run on a GPU).
#   device run: command "bash scripts/gpu-check.sh", carry [".gpu-carry"]
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-.}
exec > >(tee "$out/gpu-check.log") 2>&1
start=$(date +%s)
elapsed() { echo "[$(($(date +%s) - start)) s]"; }
status=0
export PATH=/usr/local/cuda/bin:$PATH

echo "=== GPU ==="
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv || echo "nvidia-smi failed"
gpu_name=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)

echo "=== dependencies $(elapsed) ==="
cmake_args=(-DCMAKE_BUILD_TYPE=Release -DROENTGEN_CUDA=ON -DROENTGEN_BUILD_BENCH=OFF)
if [ -d .gpu-carry/debs ]; then
  prefix=$PWD/.gpu-carry/root
  if [ ! -d "$prefix" ]; then
    for deb in .gpu-carry/debs/*.deb; do dpkg-deb -x "$deb" "$prefix"; done
  fi
  lib=$prefix/usr/lib/x86_64-linux-gnu
  # zlib1g-dev's libz.so points at Debian's libz.so.1.2.13: point it at this machine's libz.so.1.
  if [ ! -e "$lib/libz.so" ]; then
    system_z=$(ldconfig -p | awk '/libz\.so\.1 .*x86-64/ {print $NF; exit}')
    [ -n "$system_z" ] && ln -sf "$system_z" "$lib/libz.so"
  fi
  export LD_LIBRARY_PATH=$lib:$lib/openblas-pthread:${LD_LIBRARY_PATH:-}
  cmake_args+=(-DROENTGEN_DEPS_PREFIX="$prefix")
  echo "Debian libraries from .gpu-carry/debs, unpacked in $prefix"
fi
if [ -z "${CUDNN_ROOT:-}" ] && [ ! -e /usr/local/cuda/include/cudnn.h ]; then
  CUDNN_ROOT=$(python3 -c "import nvidia.cudnn, os; print(os.path.dirname(nvidia.cudnn.__file__))" 2>/dev/null) &&
    export CUDNN_ROOT && echo "cuDNN from PyTorch's wheel: $CUDNN_ROOT"
fi
if [ -n "${CUDNN_ROOT:-}" ]; then
  export LD_LIBRARY_PATH=$CUDNN_ROOT/lib:${LD_LIBRARY_PATH:-}
  # The wheel ships libcudnn.so.9 without the unversioned name the linker looks for.
  [ -e "$CUDNN_ROOT/lib/libcudnn.so" ] || ln -sf libcudnn.so.9 "$CUDNN_ROOT/lib/libcudnn.so" 2>/dev/null || true
fi

echo "=== build $(elapsed) ==="
if ! { cmake -S . -B build-gpu "${cmake_args[@]}" >build-gpu.cmake.log 2>&1 && cmake --build build-gpu -j "$(nproc)"; }; then
  tail -40 build-gpu.cmake.log
  echo "=== gpu-check: FAILED (build) $(elapsed) ==="
  exit 1
fi
grep -E "roentgen backends" build-gpu.cmake.log

echo "=== GPU test suite $(elapsed) ==="
[ -f .gpu-carry/reference/densenet121/model.safetensors ] && export ROENTGEN_REFERENCE_DIR=$PWD/.gpu-carry/reference/densenet121
build-gpu/bin/cuda_tests || status=1
echo "=== all test suites $(elapsed) ==="
ctest --test-dir build-gpu -j 8 --timeout 300 --output-on-failure -E '^cuda_tests$' || status=1

if command -v compute-sanitizer >/dev/null; then
  echo "=== compute-sanitizer memcheck: cuDNN layer kernels $(elapsed) ==="
  compute-sanitizer --tool memcheck --error-exitcode 9 build-gpu/bin/cuda_tests \
    --test-case='cuDNN: every layer kernel*,CUDA: the fused*,CUDA: elementwise*' || status=1
else
  echo "=== compute-sanitizer not installed: memcheck skipped ==="
fi

echo "=== roentgen bench on the GPU $(elapsed) ==="
results=$out/gpu-bench.jsonl
: >"$results"
for mode in train infer; do
  for config in "224 32" "224 64" "320 16" "320 32"; do
    set -- $config
    for tf32 in off on; do
      line=$(timeout 120 build-gpu/bin/roentgen bench --mode "$mode" --image-size "$1" --batch-size "$2" --iters 6 \
             --warmup 2 --device cuda --tf32 "$tf32" | tail -1) || { status=1; echo "bench $mode $1 $2 tf32 $tf32 failed"; continue; }
      echo "$line"
      echo "$line" >>"$results"
    done
  done
done

# The table: images/s, milliseconds per step, peak memory, and the convolution TFLOP/s as a
# fraction of the GPU's dense FP32 peak (67 TFLOP/s on an H100/H200 SXM; TF32 tensor cores: 495).
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

echo "=== gpu-check: $([ $status -eq 0 ] && echo PASSED || echo FAILED) $(elapsed) ==="
exit $status
