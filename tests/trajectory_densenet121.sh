#!/usr/bin/env bash
# The trajectory test on DenseNet121: PyTorch's first training step from the reference weights
# (../shared/reference/densenet121) on 8 NIH sample images at 224 (one batch) (tools/make_trajectory_fixture.py),
# then the same steps through roentgen's trainer (train_tests, test "trajectory*").
# Skipped (exit 77, with the reason) without ../shared or Debian's python3-torch.
#   tests/trajectory_densenet121.sh PYTHON build/bin/train_tests
set -euo pipefail
python=$1
tests=$2
root=$(cd "$(dirname "$0")/.." && pwd)
reference=${ROENTGEN_REFERENCE_DIR:-$root/../shared/reference/densenet121}
sample=$root/../shared/data/nih-sample
[ -f "$reference/model.safetensors" ] || { echo "skipped: no $reference/model.safetensors"; exit 77; }
[ -f "$sample/train-small.csv" ] || { echo "skipped: no NIH sample in $sample"; exit 77; }
"$python" -c "import torch, torchvision, PIL" 2>/dev/null || { echo "skipped: $python has no torch/torchvision/PIL"; exit 77; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$python" "$root/tools/make_trajectory_fixture.py" --model densenet121 --out "$out" \
  --reference "$reference/model.safetensors" --images "$sample"
ROENTGEN_TRAJECTORY_DIR=$out "$tests" -tc="trajectory*" -s
