#!/usr/bin/env bash
# The public datasets' label tables end to end, on synthetic data in each release's layout
# (roentgen synthetic --layout): CheXpert's (CheXpert-v1.0-small/{train,valid}.csv,
# patientNNNNN/studyN/view1_frontal.jpg, 1.0/0.0/-1.0/blank) trains with each --uncertain policy,
# predicts through its own CSV and evaluates with a label it never annotates as n/a; roentgen
# benchmark tabulates a model over six layouts (JPEGs, PNGs, 16-bit PNGs, DICOMs); CheXpert's and
# the notebook's train one model together; the example runs on CheXpert's split; --views and --one-per-patient select images; each
# other release's tables split by patient; an RSNA table (several box rows per image) lists its DICOMs.
#   tests/cli_datasets.sh build/bin/roentgen build/bin/example_chestxray
set -euo pipefail
roentgen=$1
example=$2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail() { echo "cli_datasets: $*"; exit 1; }
cd "$out"
"$roentgen" synthetic --out chexpert --layout chexpert --patients 10 --size 64 --seed 2 >/dev/null
data=chexpert/CheXpert-v1.0-small
for policy in ignore ones zeros; do
  "$roentgen" train --train $data/train.csv --valid $data/valid.csv --images $data --out run-$policy --epochs 1 \
    --min-epochs 1 --image-size 32 --batch-size 4 --limit 8 --uncertain $policy >train-$policy.log 2>&1 \
    || { tail train-$policy.log; fail "train with --uncertain $policy"; }
done
"$roentgen" predict --model run-ignore/best.safetensors --csv $data/valid.csv --images $data --out preds.csv 2>/dev/null \
  || fail "predict through CheXpert's CSV"
[ "$(($(wc -l < preds.csv) - 1))" = "$(($(wc -l < $data/valid.csv) - 1))" ] || fail "not one prediction per image"
"$roentgen" eval --labels $data/valid.csv --preds preds.csv --out metrics.json --bootstrap 0 >eval.log 2>&1 \
  || { cat eval.log; fail "eval on CheXpert's CSV"; }
grep -q "Fracture .*n/a" eval.log || { cat eval.log; fail "a label known for no image is not n/a"; }
python3 -c "import json,sys; m=json.load(open('metrics.json')); sys.exit(0 if m['auc']['Fracture'] is None else 1)" \
  || { cat metrics.json; fail "metrics.json's Fracture AUROC is not null"; }
# roentgen benchmark: the (CheXpert-trained) model over six layouts; a label the notebook's table
# does not annotate is n/a there; each AUROC is eval's on the same predictions.
"$roentgen" synthetic --out nb --patients 8 --size 64 --seed 5 >/dev/null
"$roentgen" synthetic --out nbd --patients 4 --size 64 --seed 6 --format dicom >/dev/null
for layout in mimic vindr padchest rsna; do
  "$roentgen" synthetic --out $layout --layout $layout --patients 4 --size 64 --seed 7 >$layout.txt \
    || fail "synthetic --layout $layout"
done
"$roentgen" benchmark --model run-ignore/best.safetensors --dataset chexpert=$data/valid.csv:$data \
  --dataset notebook=nb/labels.csv:nb/images --dataset dicom=nbd/labels.csv:nbd/images \
  --dataset mimic=mimic/mimic-cxr-2.0.0-chexpert.csv.gz:mimic \
  --dataset vindr=vindr/annotations/image_labels_train.csv:vindr/train \
  --dataset padchest=padchest/PADCHEST_chest_x_ray_images_labels_160K_01.02.19.csv:padchest \
  --out bench --bootstrap 20 >bench.log 2>bench.err \
  || { cat bench.err; fail "benchmark"; }
grep -q "^Lung Opacity .* n/a *$" bench.log || { cat bench.log; fail "Lung Opacity is not n/a on the notebook's table"; }
for f in benchmark.csv benchmark.json benchmark.html; do [ -s bench/$f ] || fail "benchmark wrote no $f"; done
grep -q "<table>" bench/benchmark.html || fail "benchmark.html has no table"
python3 - <<'PY' || fail "benchmark's AUROCs differ from eval's"
import json, math
bench = json.load(open("bench/benchmark.json"))
chexpert, notebook, dicom, mimic, vindr, padchest = bench["datasets"]
assert dicom["scored"] == sum(1 for _ in open("nbd/labels.csv")) - 1, dicom["scored"]
assert notebook["per_label"]["Lung Opacity"] == {"auc": None, "ci95": None, "positives": 0, "negatives": 0}, notebook
for d in (mimic, vindr, padchest):  # scored, and each with labels known on it
    assert d["scored"] > 0 and any(v["positives"] + v["negatives"] > 0 for v in d["per_label"].values()), d
evaluated = json.load(open("metrics.json"))["auc"]  # eval of the same model on the same CheXpert table
assert any(v is not None for v in evaluated.values()), evaluated
for label, v in chexpert["per_label"].items():
    want = evaluated.get(label)
    assert (v["auc"] is None) == (want is None) and (want is None or math.isclose(v["auc"], want, abs_tol=1e-6)), \
        (label, v["auc"], want)
PY

# Two datasets in one run: CheXpert's layout and the notebook's, their labels united (18), their
# patients apart (the synthetic ones share IDs, and would otherwise be leakage).
"$roentgen" train --train chexpert=$data/train.csv:$data --train nb=nb/train.csv:nb/images \
  --valid chexpert=$data/valid.csv:$data --valid nb=nb/valid.csv:nb/images --out run-both --epochs 1 --min-epochs 1 \
  --image-size 32 --batch-size 4 --limit 6 >both.log 2>&1 || { tail both.log; fail "train on two datasets"; }
"$roentgen" inspect run-both/best.safetensors >inspect.txt
grep -q "with 18 outputs" inspect.txt || { cat inspect.txt; fail "not the union of the labels (18)"; }
if "$roentgen" train --train chexpert=$data/train.csv:$data --valid $data/valid.csv --images $data --out bad \
     2>err.log; then fail "a dataset and a label file mixed"; fi
grep -q "give --train and --valid label files with --images, or" err.log || { cat err.log; fail "the mixing message"; }

# --views PA leaves the AP images out, --one-per-patient all but each patient's first.
count() { cat "$1"/train.csv "$1"/valid.csv "$1"/test.csv | grep -vc '^Image,'; }
"$roentgen" split --labels $data/train.csv --out all >/dev/null 2>&1
"$roentgen" split --labels $data/train.csv --out pa --views PA >/dev/null 2>&1
"$roentgen" split --labels $data/train.csv --out first --one-per-patient >/dev/null 2>&1
[ "$(count pa)" = "$(grep -c ',Frontal,PA,' $data/train.csv)" ] || fail "--views PA kept $(count pa) images"
[ "$(count all)" -gt "$(count pa)" ] || fail "no AP image to leave out"
patients=$(cut -d/ -f3 $data/train.csv | grep '^patient' | sort -u | wc -l)
[ "$(count first)" = "$patients" ] || fail "--one-per-patient kept $(count first) images of $patients patients"
# The example on CheXpert's layout, through its patient-level split (the notebook's format, missing labels kept).
"$example" --data all --images $data --out example --limit 8 --image-size 32 --epochs 1 --batch-size 4 \
  >example.log 2>&1 || { tail example.log; fail "the example on CheXpert's split"; }
grep -q "labels (11)" example.log || { head -30 example.log; fail "the example's labels are not CheXpert's 11"; }
if "$roentgen" train --train $data/train.csv --valid $data/valid.csv --images $data --out bad --uncertain maybe \
     2>err.log; then fail "--uncertain maybe"; fi
grep -q "unknown policy for uncertain labels 'maybe'" err.log || { cat err.log; fail "the --uncertain message"; }

# Each other release's tables split by patient, every image once; and nih's the same as its own name.
for layout in mimic vindr padchest rsna; do
  read -r _ _ labels _ images < <(sed -n 2p $layout.txt)  # "  part: --labels TABLE --images DIR"
  "$roentgen" split --labels "$labels" --out split-$layout >split-$layout.log 2>&1 \
    || { cat split-$layout.log; fail "split $layout's $labels"; }
  images=$(find "$images" -type f \( -name '*.jpg' -o -name '*.png' -o -name '*.dcm' -o -name '*.dicom' \) | wc -l)
  [ "$(count split-$layout)" = "$images" ] || fail "$layout: split kept $(count split-$layout) of $images images"
done
"$roentgen" synthetic --out nih --layout nih --patients 4 --size 64 >/dev/null
"$roentgen" split --labels nih/Data_Entry_2017_v2020.csv --label-format nih --out split-nih >/dev/null 2>&1 \
  || fail "split NIH's table"

# RSNA: a box table (several rows for an image with several boxes), its DICOMs found by patientId.
"$roentgen" predict --model run-ignore/best.safetensors --csv rsna/stage_2_train_labels.csv \
  --images rsna/stage_2_train_images --out rsna.csv 2>/dev/null || fail "predict through RSNA's CSV"
[ "$(($(wc -l < rsna.csv) - 1))" = "$(ls rsna/stage_2_train_images | wc -l)" ] \
  || { cat rsna.csv; fail "not one prediction per RSNA image"; }
echo "cli_datasets: ok"
