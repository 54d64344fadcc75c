#!/usr/bin/env bash
# roentgen pack through the command line: the same file for 1 and 2 threads; train, predict,
# gradcam and the example reading the pack give what they give from the folder (the same log,
# model, probabilities and heat map); --verify, a flipped byte and a truncated file; bench --mode load.
#   tests/cli_pack.sh build/bin/roentgen build/bin/example_chestxray
set -euo pipefail
roentgen=$1
example=$2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail() { echo "cli_pack: $*"; exit 1; }
cd "$out"
"$roentgen" synthetic --out data --patients 24 --size 96 >/dev/null
pack() { "$roentgen" pack --labels data/train.csv --labels data/valid.csv --labels data/test.csv --images data/images \
           --image-size 64 "$@"; }
pack --out one.rgpack --threads 1 >/dev/null 2>&1
pack --out two.rgpack --threads 2 2>pack.log >/dev/null
grep -q "roentgen pack done" pack.log || { cat pack.log; fail "no progress line"; }
cmp one.rgpack two.rgpack || fail "1 and 2 threads wrote different packs"
"$roentgen" pack --verify two.rgpack | grep -q "CRCs match" || fail "--verify"

for images in data/images two.rgpack; do
  "$roentgen" train --train data/train.csv --valid data/valid.csv --images "$images" --out "run-$(basename "$images")" \
    --epochs 1 --min-epochs 1 --image-size 64 --batch-size 4 --limit 12 2>/dev/null
done
cmp run-images/best.safetensors run-two.rgpack/best.safetensors || fail "training from the pack gave another model"
diff <(cut -d, -f1-5 run-images/log.csv) <(cut -d, -f1-5 run-two.rgpack/log.csv) || fail "another training log"
for images in data/images two.rgpack; do
  "$roentgen" predict --model run-images/best.safetensors --csv data/test.csv --images "$images" \
    --out "preds-$(basename "$images").csv" 2>/dev/null
done
cmp preds-images.csv preds-two.rgpack.csv || fail "predictions from the pack differ"
# Without --csv: every record of the pack, the test images' rows as above.
"$roentgen" predict --model run-images/best.safetensors --images two.rgpack --out preds-all.csv 2>/dev/null
[ "$(($(wc -l < preds-all.csv) - 1))" = 43 ] || fail "predict without --csv did not score the pack's 43 images"
python3 - <<'PY' || fail "a test image's row differs without --csv"
import csv
def probabilities(path):  # the probability columns (decision_<label> follow them)
    rows = list(csv.reader(open(path)))
    keep = [k for k, name in enumerate(rows[0]) if k > 0 and not name.startswith("decision_")]
    return {r[0]: [r[k] for k in keep] for r in rows[1:]}
listed, every = probabilities("preds-two.rgpack.csv"), probabilities("preds-all.csv")
# other batches may round differently (the CPU's convolution algorithm is chosen per shape)
assert all(abs(float(a) - float(b)) < 1e-5 for name, row in listed.items() for a, b in zip(row, every[name]))
PY
name=$(sed -n 2p data/test.csv | cut -d, -f1)
"$roentgen" gradcam --model run-images/best.safetensors --image "data/images/$name" --label Effusion --out a.npy 2>/dev/null
"$roentgen" gradcam --model run-images/best.safetensors --images two.rgpack --image "$name" --label Effusion --out b.npy 2>/dev/null
cmp a.npy b.npy || fail "Grad-CAM from the pack differs"
"$example" --data data --images two.rgpack --out example --limit 8 --image-size 64 --epochs 1 --batch-size 4 >example.log 2>&1 \
  || { tail -20 example.log; fail "example_chestxray on the pack"; }
[ -s example/metrics.json ] || fail "the example wrote no metrics.json"

# Bad packs: a flipped byte in a record, a truncated file, a pack of another size.
python3 -c "
import sys; b = bytearray(open('two.rgpack', 'rb').read()); b[4096 + 64 * 64 + 10] ^= 1; open('flipped.rgpack', 'wb').write(b)"
if "$roentgen" pack --verify flipped.rgpack 2>err.log; then fail "--verify passed a flipped byte"; fi
grep -q "flipped.rgpack: record 1 (.*) is corrupt" err.log || { cat err.log; fail "the flipped record is not named"; }
head -c 50000 two.rgpack > cut.rgpack
if "$roentgen" train --train data/train.csv --valid data/valid.csv --images cut.rgpack --out bad --image-size 64 2>err.log; then
  fail "trained on a truncated pack"; fi
grep -q "cut.rgpack: truncated or extended pack" err.log || { cat err.log; fail "truncation not reported"; }
if "$roentgen" train --train data/train.csv --valid data/valid.csv --images two.rgpack --out bad --image-size 96 2>err.log; then
  fail "trained on a pack of another size"; fi
grep -q "two.rgpack holds images at 64x64, not the 96x96" err.log || { cat err.log; fail "size mismatch not reported"; }
"$roentgen" bench --mode load --images two.rgpack --labels data/train.csv --image-size 64 --batch-size 8 --threads 1 \
  | grep -q '"images_per_s"' || fail "bench --mode load"
echo "cli_pack: ok"
