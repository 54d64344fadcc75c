#!/usr/bin/env bash
# A DICOM goes everywhere a PNG goes: the same synthetic dataset written as PNG and as DICOM (in
# the layouts of data/dicom.h: MONOCHROME1, windowed, rescaled signed) gives the same predictions
# from a folder, a CSV and a pack; a DICOM without an extension is found by content; gradcam and
# the example take DICOMs; a truncated DICOM stops predict with its name, or with
# --skip-bad-images is listed in skipped.csv.
#   tests/cli_dicom.sh build/bin/roentgen build/bin/example_chestxray
set -euo pipefail
roentgen=$1
example=$2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail() { echo "cli_dicom: $*"; exit 1; }
cd "$out"
"$roentgen" synthetic --out png --patients 6 --size 64 --seed 3 >/dev/null
"$roentgen" synthetic --out dicom --patients 6 --size 64 --seed 3 --format dicom >/dev/null
[ "$(ls dicom/images | grep -c '\.dcm$')" = "$(ls png/images | wc -l)" ] || fail "not one DICOM per PNG"
"$roentgen" train --train png/train.csv --valid png/valid.csv --images png/images --out run --epochs 1 \
  --min-epochs 1 --image-size 32 --batch-size 4 --limit 4 2>/dev/null
model=run/best.safetensors

# A folder, then a CSV, then a pack: the DICOMs' predictions are the PNGs'.
"$roentgen" predict --model $model --images png/images --out png.csv 2>/dev/null
"$roentgen" predict --model $model --images dicom/images --out dicom.csv 2>err.log || { cat err.log; fail "predict"; }
sed 's/\.png,/.dcm,/' png.csv | cmp - dicom.csv || fail "the DICOMs' predictions differ from the PNGs'"
"$roentgen" predict --model $model --csv dicom/test.csv --images dicom/images --out listed.csv 2>/dev/null
"$roentgen" predict --model $model --csv png/test.csv --images png/images --out listed_png.csv 2>/dev/null
sed 's/\.png,/.dcm,/' listed_png.csv | cmp - listed.csv || fail "through a CSV, the predictions differ"
"$roentgen" pack --labels dicom/labels.csv --images dicom/images --image-size 32 --out dicom.rgpack >/dev/null 2>&1
"$roentgen" pack --labels png/labels.csv --images png/images --image-size 32 --out png.rgpack >/dev/null 2>&1
"$roentgen" predict --model $model --images dicom.rgpack --out packed.csv 2>/dev/null
"$roentgen" predict --model $model --images png.rgpack --out packed_png.csv 2>/dev/null
sed 's/\.png,/.dcm,/' packed_png.csv | cmp - packed.csv || fail "from a pack, the predictions differ"

# By content: a DICOM named without an extension counts.
first=$(ls dicom/images | head -1)
mkdir folder
cp "dicom/images/$first" folder/IM0001
"$roentgen" predict --model $model --images folder --out one.csv 2>/dev/null
[ "$(cut -d, -f1 one.csv | tr '\n' ' ')" = "Image IM0001 " ] || { cat one.csv; fail "an extensionless DICOM"; }

# Grad-CAM and the example.
"$roentgen" gradcam --model $model --image "dicom/images/$first" --label Effusion --out heat.npy 2>/dev/null
[ -s heat.npy ] || fail "gradcam on a DICOM"
"$example" --data dicom --out example --limit 8 --image-size 32 --epochs 1 --batch-size 4 >example.log 2>&1 \
  || { tail example.log; fail "the example on DICOMs"; }
[ -s example/metrics.json ] || fail "the example wrote no metrics"

# A truncated DICOM: it stops predict, naming it; with --skip-bad-images it is listed and counted.
head -c 3000 "dicom/images/$first" > folder/cut.dcm
if "$roentgen" predict --model $model --images folder --out bad.csv 2>err.log; then fail "a truncated DICOM"; fi
grep -q "folder/cut.dcm: truncated DICOM" err.log || { cat err.log; fail "the truncated DICOM is not named"; }
"$roentgen" predict --model $model --images folder --out skip.csv --skip-bad-images 2>err.log \
  || { cat err.log; fail "--skip-bad-images"; }
[ "$(cat skipped.csv | tr '\n' ' ')" = "Image cut.dcm " ] || { cat skipped.csv; fail "skipped.csv"; }
echo "cli_dicom: ok"
