#!/usr/bin/env bash
# Prepares .gpu-carry/ for a lent GPU machine, which has CUDA, cuDNN (in PyTorch's wheel), a
# compiler and CMake but no network and none of our Debian libraries:
#   .gpu-carry/debs/       the Debian packages roentgen builds with (about 15 MB), unpacked there by
#                          scripts/gpu-check.sh with dpkg -x (never into /)
#   .gpu-carry/reference/  ../shared/reference/densenet121 when present (39 MB), for GPU parity
# Run it here (it downloads with apt-get), then run the check's stages there carrying the folder
# (the commands and timeouts: the header of scripts/gpu-check.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .gpu-carry/debs
(cd .gpu-carry/debs && apt-get download \
  libopenblas-pthread-dev libopenblas0-pthread libopenblas-dev libgfortran5 libquadmath0 \
  libstb-dev libstb0 libspng-dev libspng0 libturbojpeg0-dev libturbojpeg0 \
  nlohmann-json3-dev doctest-dev zlib1g-dev 2>&1 | grep -v "unsandboxed" || true)
if [ -f ../shared/reference/densenet121/model.safetensors ]; then
  mkdir -p .gpu-carry/reference
  cp -r ../shared/reference/densenet121 .gpu-carry/reference/
fi
du -sh .gpu-carry
