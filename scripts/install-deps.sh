#!/usr/bin/env bash
# Installs the Debian packages roentgen builds with, skipping those already present.
# The CUDA toolkit and cuDNN are not Debian packages: when they are under /usr/local/cuda (or
# CUDNN_ROOT), the build finds them; when not, it builds the CPU backend alone.
set -euo pipefail

packages=(
  build-essential    # g++, make
  cmake
  pkg-config
  libopenblas-pthread-dev  # CPU GEMM (cblas_sgemm / cblas_dgemm), one thread per call, called from our pool
  libspng-dev        # PNG decoding
  libturbojpeg0-dev  # JPEG decoding (libjpeg-turbo)
  libgdcm-dev        # DICOM decoding (GDCM)
  libstb-dev         # stb_image_write: PNG and JPEG encoding
  zlib1g-dev         # gzip-compressed label files
  nlohmann-json3-dev # JSON metadata
  doctest-dev        # unit tests
  libbenchmark-dev   # Google Benchmark, for bench/
  python3            # tests/check_docs.py keeps docs/ true; tools/ (the converters)
  ccache             # faster rebuilds
  libopenmpi-dev     # multi-process training (distributed/); the build works without it, single-process
  openmpi-bin        # mpirun
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "roentgen: installing ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "roentgen: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
