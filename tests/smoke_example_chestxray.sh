#!/usr/bin/env bash
# A smoke run of example_chestxray on a few synthetic images: it must finish and write every output;
# then a short densenet121-se run on the same images.
#   tests/smoke_example_chestxray.sh build/bin/example_chestxray
set -euo pipefail
bin=$1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$bin" --out "$out" --limit 16 --image-size 64 --epochs 2 --batch-size 8 --threads 2
for f in metrics.json preds.csv best.safetensors last.safetensors log.csv batch.png report.html class_frequencies.svg \
         contributions.svg contributions_weighted.svg roc_curves.svg loss.svg auroc.svg; do
  [ -s "$out/$f" ] || { echo "missing output: $f"; exit 1; }
done
ls "$out"/tensorboard/events.out.tfevents.* >/dev/null || { echo "missing TensorBoard events"; exit 1; }
ls "$out"/gradcam/*.png >/dev/null || { echo "missing Grad-CAM overlays"; exit 1; }
grep -q '"mean_auc"' "$out/metrics.json" || { echo "metrics.json lacks mean_auc"; exit 1; }
grep -q '<svg' "$out/report.html" || { echo "report.html lacks its plots"; exit 1; }
# densenet121-se (the worked example of docs/extending.md) trains in the example too, on the same data.
"$bin" --data "$out/synthetic-data" --out "$out/se" --architecture densenet121-se --limit 8 --image-size 32 --epochs 1 \
  --batch-size 4 --threads 2 | tee "$out/se.log"
grep -q "densenet121-se -> global average pooling" "$out/se.log" || { echo "the SE run did not build densenet121-se"; exit 1; }
grep -q '"architecture":"densenet121-se"' "$out/se/best.safetensors" || { echo "best.safetensors is not a densenet121-se"; exit 1; }
echo "example_chestxray smoke run: every output written"
