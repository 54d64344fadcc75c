#!/usr/bin/env bash
# Operating points and calibration end to end: roentgen train stores each label's threshold (Youden's, on the
# validation set) in best.safetensors, inspect shows them, predict writes decision_<label> columns
# that are exactly probability >= threshold, calibrate chooses them again by another rule (its
# sensitivity checked here on the probabilities, independently), eval --model reports the
# decisions' counts and each label's Brier score (checked here) with a reliability diagram, and a model
# without operating points refuses decisions.
#   tests/cli_decisions.sh build/bin/roentgen
set -euo pipefail
roentgen=$1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail() { echo "cli_decisions: $*"; exit 1; }
cd "$out"
"$roentgen" synthetic --out d --patients 40 --size 64 --seed 3 >/dev/null
"$roentgen" train --train d/train.csv --valid d/valid.csv --images d/images --out run --epochs 1 --min-epochs 1 \
  --image-size 32 --batch-size 8 >train.log 2>&1 || { tail train.log; fail "train"; }
grep -q "operating points, youden on d/valid.csv" train.log || { tail train.log; fail "train printed no operating points"; }
"$roentgen" inspect run/best.safetensors >inspect.txt
grep -q "operating points: youden on d/valid.csv" inspect.txt || { cat inspect.txt; fail "inspect shows no points"; }

# The model's thresholds, from the file's own metadata (safetensors: an 8-byte length, a JSON header).
metadata_points() {
  python3 - "$1" <<'PY'
import json, struct, sys
raw = open(sys.argv[1], "rb").read()
header = json.loads(raw[8:8 + struct.unpack("<Q", raw[:8])[0]])
print(header["__metadata__"]["operating_points"])
PY
}
metadata_points run/best.safetensors >points.json

"$roentgen" predict --model run/best.safetensors --csv d/test.csv --images d/images --out preds.csv 2>/dev/null \
  || fail "predict"
python3 - <<'PY' || fail "decisions are not probability >= threshold"
import csv, json
points = json.load(open("points.json"))["labels"]
rows = list(csv.DictReader(open("preds.csv")))
assert rows and points, (len(rows), points)
decided = 0
for row in rows:
    for label in [c for c in row if c != "Image" and not c.startswith("decision_")]:
        decision = row["decision_" + label]
        if label not in points:
            assert decision == "", (label, decision)  # no threshold, no decision
            continue
        # the CSV's probability has 7 significant digits; the decision was made on the float
        p, t = float(row[label]), points[label]["threshold"]
        if abs(p - t) > 1e-6:
            assert decision == ("1" if p >= t else "0"), (row["Image"], label, p, t, decision)
            decided += 1
assert decided > 0
PY
"$roentgen" predict --model run/best.safetensors --csv d/test.csv --images d/images --out only.csv --output decisions \
  2>/dev/null || fail "predict --output decisions"
head -1 only.csv | grep -q "^Image,decision_Atelectasis" || { head -1 only.csv; fail "--output decisions header"; }

# calibrate: sensitivity=0.8 on the test set, into another file; the chosen thresholds checked here.
"$roentgen" calibrate --model run/best.safetensors --labels d/test.csv --images d/images --out cal.safetensors \
  --operating-point sensitivity=0.8 >cal.log 2>&1 || { cat cal.log; fail "calibrate"; }
metadata_points cal.safetensors >cal.json
python3 - <<'PY' || fail "calibrate's thresholds are not the highest with sensitivity >= 0.8"
import csv, json
cal = json.load(open("cal.json"))
assert cal["rule"] == "sensitivity=0.8" and cal["set"] == "d/test.csv", cal
truth = {r["Image"]: r for r in csv.DictReader(open("d/test.csv"))}
probs = list(csv.DictReader(open("preds.csv")))
assert cal["labels"], cal
for label, point in cal["labels"].items():
    pairs = [(float(r[label]), float(truth[r["Image"]][label])) for r in probs]
    positives = sum(y for _, y in pairs)
    def sensitivity(t):
        return sum(1 for p, y in pairs if y == 1 and p >= t) / positives
    t = point["threshold"]
    assert sensitivity(t - 1e-6) >= 0.8, (label, t)
    higher = sorted({p for p, _ in pairs if p > t + 1e-6})
    assert not higher or sensitivity(higher[0] - 1e-6) < 0.8, (label, t, higher[0])  # the next one up falls short
    assert point["positives"] == positives, (label, point)
PY

# eval --model: counts at the stored points, checked against the decisions predict wrote.
"$roentgen" eval --labels d/test.csv --preds preds.csv --model run/best.safetensors --out metrics.json --bootstrap 0 \
  --reliability reliability.svg >eval.log 2>&1 || { cat eval.log; fail "eval --model"; }
grep -q "<svg" reliability.svg || fail "no reliability diagram"
grep -q "at the model's operating points" eval.log || { cat eval.log; fail "eval shows no decisions"; }
python3 - <<'PY' || fail "eval's counts differ from predict's decisions"
import csv, json
m = json.load(open("metrics.json"))["operating_points"]
truth = {r["Image"]: r for r in csv.DictReader(open("d/test.csv"))}
rows = list(csv.DictReader(open("preds.csv")))
for label, got in m.items():
    tp = sum(1 for r in rows if r["decision_" + label] == "1" and truth[r["Image"]][label] == "1")
    fp = sum(1 for r in rows if r["decision_" + label] == "1" and truth[r["Image"]][label] == "0")
    assert (got["tp"], got["fp"]) == (tp, fp), (label, got, tp, fp)
    s = got["sensitivity"]
    assert s is None or s["ci95"][0] <= s["value"] <= s["ci95"][1], s
# Calibration: the Brier score of each label, computed here from the CSV (7 significant digits).
calibration = json.load(open("metrics.json"))["calibration"]
for label, got in calibration.items():
    pairs = [(float(r[label]), float(truth[r["Image"]][label])) for r in rows]
    brier = sum((p - y) ** 2 for p, y in pairs) / len(pairs)
    assert abs(got["brier"] - brier) < 1e-6, (label, got["brier"], brier)
    assert sum(b["count"] for b in got["bins"]) == len(pairs), label
    ece = sum(b["count"] / len(pairs) * abs(b["fraction_positive"] - b["mean_probability"]) for b in got["bins"])
    assert abs(got["ece"] - ece) < 1e-12, (label, got["ece"], ece)
PY

# --tta flip: other probabilities than plain ones, still probabilities.
"$roentgen" predict --model run/best.safetensors --csv d/test.csv --images d/images --out tta.csv --tta flip \
  --output probabilities 2>tta.log || { cat tta.log; fail "predict --tta flip"; }
grep -q "averaged with its mirror image" tta.log || { cat tta.log; fail "predict does not say it averages"; }
python3 - <<'PY' || fail "--tta flip gave the plain probabilities, or not probabilities"
import csv
plain = {r["Image"]: r for r in csv.DictReader(open("preds.csv"))}
tta = list(csv.DictReader(open("tta.csv")))
values = [(float(r[k]), float(plain[r["Image"]][k])) for r in tta for k in r if k != "Image"]
assert all(0 <= a <= 1 for a, _ in values) and any(abs(a - b) > 1e-4 for a, b in values)
PY

# A model without operating points (the checkpoint's own) makes no decisions.
"$roentgen" export --checkpoint run/last.safetensors --out bare.safetensors 2>export.log
grep -q "operating points: none" export.log || { cat export.log; fail "export does not say it has none"; }
if "$roentgen" predict --model bare.safetensors --csv d/test.csv --images d/images --out x.csv --output both \
  2>err.log; then fail "decisions from a model without operating points"; fi
grep -q "has no operating points, so it makes no decisions" err.log || { cat err.log; fail "the refusal's message"; }
"$roentgen" predict --model bare.safetensors --csv d/test.csv --images d/images --out bare.csv 2>bare.log \
  || fail "probabilities from a model without operating points"
if head -1 bare.csv | grep -q decision_; then fail "decision columns without operating points"; fi
echo "cli_decisions: ok"
