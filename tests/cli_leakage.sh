#!/usr/bin/env bash
# The notebook's leakage check through the command line: roentgen train refuses the same file as
# training and validation before any work, and a one-patient overlap unless --allow-patient-overlap;
# a trained model's patient record (inspect) makes predict and eval warn about its own training
# patients (eval --strict: an error) and not about the test set's; --no-patient-record leaves it out.
#   tests/cli_leakage.sh build/bin/roentgen
set -euo pipefail
roentgen=$1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail() { echo "cli_leakage: $*"; exit 1; }
cd "$out"
"$roentgen" synthetic --out data --patients 24 --size 64 >/dev/null
train() { "$roentgen" train --images data/images --epochs 1 --min-epochs 1 --image-size 32 --batch-size 4 --limit 8 "$@"; }

# The same file twice: stopped before training, nothing written but the folder.
if train --train data/train.csv --valid data/train.csv --out same 2>err.log; then fail "trained on train.csv twice"; fi
grep -q "images are in both data/train.csv and data/train.csv" err.log || { cat err.log; fail "the message"; }
[ ! -e same/log.csv ] || fail "training started before the check"

# One patient on both sides through different images: an error, or with the flag a warning.
python3 - <<'PY'
import csv
rows = list(csv.reader(open("data/train.csv")))
header, body = rows[0], rows[1:]
patient = header.index("PatientId")
counts = {}
for r in body: counts[r[patient]] = counts.get(r[patient], 0) + 1
moved = next(r for r in body if counts[r[patient]] > 1)       # one image of a patient with several
train = [r for r in body if r is not moved]
valid = list(csv.reader(open("data/valid.csv")))
# the leaky patient's other image stays within the --limit 8 training images
train.sort(key=lambda r: r[patient] != moved[patient])
csv.writer(open("leaky-train.csv", "w", newline="")).writerows([header] + train)
csv.writer(open("leaky-valid.csv", "w", newline="")).writerows(valid[:1] + [moved] + valid[1:])
PY
if train --train leaky-train.csv --valid leaky-valid.csv --out leaky 2>err.log; then fail "trained with a shared patient"; fi
grep -q "leaky-train.csv and leaky-valid.csv share 1 patient" err.log || { cat err.log; fail "the overlap message"; }
train --train leaky-train.csv --valid leaky-valid.csv --out leaky --allow-patient-overlap 2>err.log \
  || { cat err.log; fail "--allow-patient-overlap did not train"; }
grep -q "WARNING: leaky-train.csv and leaky-valid.csv share 1 patient" err.log || { cat err.log; fail "no warning"; }

# A model knows whom it was trained on.
train --train data/train.csv --valid data/valid.csv --out run 2>/dev/null
# (inspect's output goes to a file first: grep -q would stop reading, and pipefail fail on the SIGPIPE)
"$roentgen" inspect run/best.safetensors >inspect.log
grep -q "patient record: [1-9][0-9]* training and [1-9][0-9]* validation patients" inspect.log \
  || { cat inspect.log; fail "inspect shows no patient record"; }
head -9 data/train.csv > scored.csv   # the 8 training images
"$roentgen" predict --model run/best.safetensors --csv scored.csv --images data/images --out preds.csv 2>err.log
grep -q "WARNING: 8 of the 8 images in scored.csv belong to" err.log || { cat err.log; fail "predict did not warn"; }
"$roentgen" eval --labels scored.csv --preds preds.csv --out m.json --bootstrap 0 --model run/best.safetensors >/dev/null 2>err.log
grep -q "WARNING: 8 of the 8 images in scored.csv belong to .* 8 trained on" err.log || { cat err.log; fail "eval did not warn"; }
if "$roentgen" eval --labels scored.csv --preds preds.csv --out m.json --bootstrap 0 --model run/best.safetensors \
     --strict 2>err.log; then fail "eval --strict passed"; fi
grep -q "eval --strict: 8 of the 8 images" err.log || { cat err.log; fail "the --strict message"; }
"$roentgen" predict --model run/best.safetensors --csv data/test.csv --images data/images --out test-preds.csv 2>err.log
"$roentgen" eval --labels data/test.csv --preds test-preds.csv --out m.json --bootstrap 0 --model run/best.safetensors \
  --strict >/dev/null 2>>err.log || { cat err.log; fail "eval --strict refused the test set"; }
if grep -q WARNING err.log; then cat err.log; fail "a warning about the test set's patients"; fi

# --no-patient-record: nothing recorded, nothing said.
train --train data/train.csv --valid data/valid.csv --out anonymous --no-patient-record 2>/dev/null
"$roentgen" inspect anonymous/best.safetensors >inspect.log
grep -q "patient record: none" inspect.log || { cat inspect.log; fail "a record despite --no-patient-record"; }
"$roentgen" predict --model anonymous/best.safetensors --csv scored.csv --images data/images --out p.csv 2>err.log
if grep -q WARNING err.log; then cat err.log; fail "a warning without a record"; fi
echo "cli_leakage: ok"
