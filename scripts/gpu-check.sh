#!/usr/bin/env bash
# On a machine with an NVIDIA GPU: build (unless a CUDA build is already in build/), run every
# test suite — the CUDA cases compare each GPU kernel with the CPU — then the GPU benchmarks,
# the PyTorch comparison when PyTorch sees the GPU, and the example on the GPU.
# Everything printed is also written to ${OUT:-.}/gpu-check.log.
set -uo pipefail
cd "$(dirname "$0")/.."
log=${OUT:-.}/gpu-check.log
exec > >(tee "$log") 2>&1

echo "=== GPU ==="
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv || echo "nvidia-smi failed"

if ! grep -q "ROENTGEN_WITH_CUDA:INTERNAL=ON" build/CMakeCache.txt 2>/dev/null &&
   ! build/bin/tensor_tests --list-test-cases >/dev/null 2>&1; then
  echo "=== build ==="
  # cuDNN may only be there inside the PyTorch wheel (nvidia-cudnn-cu*).
  if [ -z "${CUDNN_ROOT:-}" ] && [ ! -e /usr/local/cuda/include/cudnn.h ]; then
    CUDNN_ROOT=$(python3 -c "import nvidia.cudnn, os; print(os.path.dirname(nvidia.cudnn.__file__))" 2>/dev/null) &&
      export CUDNN_ROOT && echo "cuDNN from the Python wheel: $CUDNN_ROOT"
  fi
  scripts/build.sh build -DROENTGEN_CUDA=ON || exit 1
fi

status=0
echo "=== tests ==="
for t in build/bin/*_tests; do
  echo "--- $t"
  "$t" || status=1
done

echo "=== CUDA kernel benchmarks ==="
build/bin/bench_kernels --benchmark_filter='/engine:2/' || status=1

if python3 -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
  echo "=== against PyTorch on the GPU ==="
  python3 bench/compare_torch.py --device cuda || status=1
else
  echo "=== PyTorch with CUDA not available here: no peer comparison ==="
fi

echo "=== example on the GPU ==="
build/bin/example_spiral --device cuda --epochs 500 || status=1

echo "=== gpu-check: $([ $status -eq 0 ] && echo PASSED || echo FAILED) ==="
exit $status
