#!/usr/bin/env bash
# The README's example command: installs what is missing, builds, and runs example_chestxray —
# on the real NIH sample in ../shared/data/nih-sample when it is there, else on synthetic data it
# generates. Outputs go to chestxray-run/ (report.html, metrics.json, plots, Grad-CAM, checkpoints).
# Arguments are passed on to the example (try --help).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh build >/dev/null
data=()
if [ -f ../shared/data/nih-sample/train-small.csv ]; then data=(--data ../shared/data/nih-sample); fi
exec build/bin/example_chestxray "${data[@]}" "$@"
