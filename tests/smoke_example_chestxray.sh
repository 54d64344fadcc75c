#!/usr/bin/env bash
# A smoke run of example_chestxray on a few synthetic images: it must finish and write every output,
# each with the content it should have; `roentgen gradcam` and `predict` on its model; then a short
# densenet121-se run on the same images.
#   tests/smoke_example_chestxray.sh build/bin/example_chestxray build/bin/roentgen
set -euo pipefail
bin=$1
roentgen=$2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$bin" --out "$out" --limit 16 --image-size 64 --epochs 2 --batch-size 8 --threads 2
for f in metrics.json preds.csv best.safetensors last.safetensors log.csv batch.png report.html class_frequencies.svg \
         contributions.svg contributions_weighted.svg roc_curves.svg reliability.svg loss.svg auroc.svg; do
  [ -s "$out/$f" ] || { echo "missing output: $f"; exit 1; }
done
ls "$out"/tensorboard/events.out.tfevents.* >/dev/null || { echo "missing TensorBoard events"; exit 1; }
ls "$out"/gradcam/*.png >/dev/null || { echo "missing Grad-CAM overlays"; exit 1; }
# Grad-CAM through the command line: a .npy heat map of the image's size.
images=("$out"/synthetic-data/images/*.png)
image=${images[0]}
"$roentgen" gradcam --model "$out/best.safetensors" --image "$image" --label Effusion --out "$out/heat.npy"
# A limit on the decoded size below the image's is refused before decoding.
if "$roentgen" gradcam --model "$out/best.safetensors" --image "$image" --label Effusion --out "$out/x.npy" \
     --max-image-pixels 100 2>"$out/limit.log"; then echo "--max-image-pixels 100 was not enforced"; exit 1; fi
grep -q "pixels, more than the limit of 100" "$out/limit.log" || { cat "$out/limit.log"; exit 1; }

# The content of the outputs.
python3 - "$out" <<'EOF'
import ast, base64, csv, json, os, re, struct, sys
out = sys.argv[1]
def fail(why):
    sys.exit("smoke: " + why)
m = json.load(open(os.path.join(out, "metrics.json")))
if len(m["labels"]) != 14 or len(m["auc"]) != 14: fail("metrics.json should have 14 labels and 14 AUROCs")
if not all(v is None or 0 <= v <= 1 for v in m["auc"].values()): fail("an AUROC outside 0..1")
if m["mean_auc"] is not None and not 0 <= m["mean_auc"] <= 1: fail("mean_auc outside 0..1")
rows = list(csv.reader(open(os.path.join(out, "preds.csv"))))
# Image, 14 probabilities, then 14 decisions at the validation set's operating points (1, 0, or empty without one)
if len(rows[0]) != 29 or len(rows) < 2: fail("preds.csv should have Image + 14 + 14 decision columns and a row per image")
if not all(0 <= float(v) <= 1 for r in rows[1:] for v in r[1:15]): fail("a probability outside 0..1 in preds.csv")
if not all(v in ("0", "1", "") for r in rows[1:] for v in r[15:]): fail("a decision not 0, 1 or empty in preds.csv")
for section in ["decisions at the operating points", "calibration", "averaged with its mirror image"]:
    if section not in open(os.path.join(out, "report.html")).read():
        fail(f"report.html lacks the {section}")
html = open(os.path.join(out, "report.html")).read()
pngs = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
cams = [f for f in os.listdir(os.path.join(out, "gradcam")) if f.endswith(".png")]
if len(pngs) != 1 + len(cams): fail(f"report.html embeds {len(pngs)} PNGs, expected batch.png + {len(cams)} Grad-CAMs")
if not all(base64.b64decode(p).startswith(b"\x89PNG") for p in pngs): fail("report.html embeds a broken PNG")
if html.count("<svg") < 5: fail("report.html lacks its plots")
npy = open(os.path.join(out, "heat.npy"), "rb").read()
if npy[:6] != b"\x93NUMPY": fail("heat.npy is not a .npy file")
n = struct.unpack("<H", npy[8:10])[0]
header = ast.literal_eval(npy[10:10 + n].decode())
if header["descr"] != "<f4" or header["shape"] != (64, 64): fail(f"heat.npy header {header}, expected <f4 (64, 64)")
values = struct.unpack(f"<{64 * 64}f", npy[10 + n:])
if not (0 <= min(values) and max(values) <= 1): fail("heat.npy values outside 0..1")
EOF
# densenet121-se (the worked example of docs/extending.md) trains in the example too, on the same data.
"$bin" --data "$out/synthetic-data" --out "$out/se" --architecture densenet121-se --limit 8 --image-size 32 --epochs 1 \
  --batch-size 4 --threads 2 | tee "$out/se.log"
grep -q "densenet121-se -> global average pooling" "$out/se.log" || { echo "the SE run did not build densenet121-se"; exit 1; }
grep -q '"architecture":"densenet121-se"' "$out/se/best.safetensors" || { echo "best.safetensors is not a densenet121-se"; exit 1; }
echo "example_chestxray smoke run: every output written, its content checked"
