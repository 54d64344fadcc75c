#!/usr/bin/env bash
# roentgen predict on a folder without --csv: every PNG and JPEG in it and its subfolders, told by
# content (a PNG named .txt counts, a text file named .png does not), sorted by path, the same
# probabilities as through a CSV; a corrupt image stops it with the file's name, or with
# --skip-bad-images is listed in skipped.csv beside --out and counted; images unlike the training
# images (inverted, uniform) are warned about, once per run.
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

# Input checks: against the training images' profile (recorded in the model file), a drawn film with
# bright lungs and a dark mediastinum reads as inverted, a uniform one as nearly uniform, an 8x8
# one as too small for the model's 32x32; a real film passes. Once per run, counted, the first file
# named; gradcam says the same of one image.
grep -q "intensity_profile = {\"images\"" <("$roentgen" inspect run/best.safetensors) || fail "no intensity profile recorded"
mkdir checks
cp "data/images/${pngs[0]}" checks/film.png
python3 - <<'PY'
import struct, zlib
def png(path, rows, size=64):  # 8-bit gray, filter 0 on every row; the top-left size x size of rows
    raw = b"".join(b"\0" + bytes(r[:size]) for r in rows[:size])
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    open(path, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 0, 0, 0, 0))
                          + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
lung = lambda x, y: 16 <= y < 40 and (12 <= x < 24 or 40 <= x < 52)
png("checks/inverted.png", [[220 if lung(x, y) else (30 if 29 <= x < 35 else 110) for x in range(64)] for y in range(64)])
png("checks/flat.png", [[120] * 64 for _ in range(64)])
png("checks/tiny.png", [[(7 * x + 13 * y) % 256 for x in range(64)] for y in range(64)], size=8)
PY
"$roentgen" predict --model run/best.safetensors --images checks --out checks.csv 2>err.log || { cat err.log; fail "predict checks"; }
grep -q "WARNING: 1 of 4 images look inverted relative to the training images.*(the first: inverted.png)" err.log \
  || { cat err.log; fail "no warning about the inverted image"; }
grep -q "WARNING: 1 of 4 images are nearly uniform.*(the first: flat.png)" err.log || { cat err.log; fail "no flat warning"; }
grep -q "WARNING: 1 of 4 images are stored at under half the model's input.*(the first: tiny.png)" err.log \
  || { cat err.log; fail "no warning about the 8x8 image (the model takes 32x32)"; }
[ "$(grep -c WARNING err.log)" = 4 ] || { cat err.log; fail "not one line per issue (inverted, uniform, low contrast, small)"; }
"$roentgen" gradcam --model run/best.safetensors --image checks/inverted.png --label Effusion --out g.npy 2>err.log \
  || { cat err.log; fail "gradcam"; }
grep -q "1 of 1 images look inverted" err.log || { cat err.log; fail "gradcam does not warn"; }
"$roentgen" gradcam --model run/best.safetensors --image checks/film.png --label Effusion --out g.npy 2>err.log
if grep -q WARNING err.log; then cat err.log; fail "a warning about a training-like film"; fi

# Not a folder, or a folder with no image.
mkdir empty
if "$roentgen" predict --model run/best.safetensors --images empty --out e.csv 2>err.log; then fail "an empty folder"; fi
grep -q "empty: no PNG, JPEG or DICOM file in it or its subfolders" err.log || { cat err.log; fail "the empty-folder message"; }
echo "cli_predict_folder: ok"
