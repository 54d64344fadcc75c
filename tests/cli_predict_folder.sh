#!/usr/bin/env bash
# roentgen predict on a folder without --csv: every PNG and JPEG in it and its subfolders, told by
# content (a PNG named .txt counts, a text file named .png does not), sorted by path, the same
# probabilities as through a CSV; a corrupt image stops it with the file's name, or with
# --skip-bad-images is listed in skipped.csv beside --out and counted.
#   tests/cli_predict_folder.sh build/bin/roentgen
set -euo pipefail
roentgen=$1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail() { echo "cli_predict_folder: $*"; exit 1; }
cd "$out"
"$roentgen" synthetic --out data --patients 6 --size 64 >/dev/null
"$roentgen" train --train data/train.csv --valid data/valid.csv --images data/images --out run --epochs 1 \
  --min-epochs 1 --image-size 32 --batch-size 4 --limit 4 2>/dev/null
mapfile -t pngs < <(cd data/images && ls | head -4)
mkdir -p folder/b/c
cp "data/images/${pngs[0]}" folder/z.png
cp "data/images/${pngs[1]}" folder/b/a.png
cp "data/images/${pngs[2]}" folder/b/c/image.txt   # a PNG by content
echo "not an image" > folder/notes.png              # not one by content
"$roentgen" predict --model run/best.safetensors --images folder --out preds.csv 2>err.log \
  || { cat err.log; fail "predict on a folder"; }
[ "$(cut -d, -f1 preds.csv | tr '\n' ' ')" = "Image b/a.png b/c/image.txt z.png " ] \
  || { cat preds.csv; fail "not every image by content, sorted by path"; }
grep -q "3 images at 32x32" err.log || { cat err.log; fail "the image count"; }
printf 'Image\nb/a.png\nb/c/image.txt\nz.png\n' > list.csv
"$roentgen" predict --model run/best.safetensors --csv list.csv --images folder --out listed.csv 2>/dev/null
cmp preds.csv listed.csv || fail "the folder's predictions differ from the same images listed in a CSV"

# A corrupt PNG: it stops the run, naming it; with --skip-bad-images it is listed and counted.
head -c 100 "data/images/${pngs[3]}" > folder/b/cut.png
if "$roentgen" predict --model run/best.safetensors --images folder --out bad.csv 2>err.log; then
  fail "a truncated PNG did not stop predict"; fi
grep -q "folder/b/cut.png: truncated PNG" err.log || { cat err.log; fail "the bad file is not named"; }
"$roentgen" predict --model run/best.safetensors --images folder --out skip.csv --skip-bad-images 2>err.log \
  || { cat err.log; fail "--skip-bad-images"; }
grep -q "skipped 1 unreadable image, listed in skipped.csv" err.log || { cat err.log; fail "no count"; }
[ "$(cat skipped.csv | tr '\n' ' ')" = "Image b/cut.png " ] || { cat skipped.csv; fail "skipped.csv"; }
cmp skip.csv preds.csv || fail "the readable images' predictions changed"

# Not a folder, or a folder with no image.
mkdir empty
if "$roentgen" predict --model run/best.safetensors --images empty --out e.csv 2>err.log; then fail "an empty folder"; fi
grep -q "empty: no PNG, JPEG or DICOM file in it or its subfolders" err.log || { cat err.log; fail "the empty-folder message"; }
echo "cli_predict_folder: ok"
