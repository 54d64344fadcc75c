#!/usr/bin/env python3
"""Writes tests/fixtures/roc/sklearn.json: scikit-learn's roc_curve (drop_intermediate=True),
roc_auc_score, calibration_curve (10 quantile bins) and brier_score_loss on small cases, ties
included, so that metrics/roc.cpp and metrics/calibration.cpp are tested against them on every
machine without scikit-learn. Deterministic: rerunning gives the same file.

    python3 -m venv /tmp/skl && /tmp/skl/bin/pip install scikit-learn
    /tmp/skl/bin/python tools/make_roc_fixture.py

Scores are float32 values (what roentgen reads), passed to scikit-learn as float64. The first
threshold, +inf in scikit-learn >= 1.3, is written as the string "inf".
"""
import json
import os

import numpy as np
import sklearn
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss, roc_auc_score, roc_curve

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "roc", "sklearn.json")


def cases():
    yield "issue 10: four points", [0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]
    yield "scikit-learn's documented example", [1, 1, 2, 2], [0.1, 0.4, 0.35, 0.8]
    yield "all scores tied", [0, 1, 0, 1, 1], [0.5] * 5
    yield "ties across classes", [0, 1, 1, 0, 1, 0, 0, 1], [0.2, 0.2, 0.7, 0.7, 0.9, 0.1, 0.5, 0.5]
    yield "perfect separation", [0, 0, 0, 1, 1], [0.1, 0.2, 0.3, 0.8, 0.9]
    yield "inverted", [1, 1, 0, 0], [0.1, 0.2, 0.8, 0.9]
    yield "collinear run", [1, 1, 1, 0, 0, 0], [0.9, 0.8, 0.7, 0.6, 0.5, 0.4]
    rng = np.random.default_rng(0)
    for n, decimals in [(60, 1), (200, 2), (500, 3)]:
        y = (rng.random(n) < 0.3).astype(int)
        score = np.round(np.clip(rng.normal(0.4 + 0.25 * y, 0.2), 0, 1), decimals)
        yield f"random, n={n}, scores rounded to {decimals} decimals", y.tolist(), score.tolist()


def calibration_of(y, p, n_bins=10):
    """calibration_curve's points, each bin's count (binned as calibration_curve bins them: the
    quantile edges, np.searchsorted on the inner ones), the ECE from them, and the Brier score."""
    prob_true, prob_pred = calibration_curve(y, p, n_bins=n_bins, strategy="quantile")
    edges = np.percentile(p, np.linspace(0, 1, n_bins + 1) * 100)
    counts = np.bincount(np.searchsorted(edges[1:-1], p), minlength=n_bins)
    counts = counts[counts > 0]
    assert len(counts) == len(prob_true)
    return {"fraction_positive": prob_true.tolist(), "mean_probability": prob_pred.tolist(),
            "count": counts.tolist(), "ece": float(np.sum(counts / len(p) * np.abs(prob_true - prob_pred))),
            "brier": float(brier_score_loss(y, p))}


def main():
    out = {"sklearn_version": sklearn.__version__, "cases": []}
    for name, y, score in cases():
        score32 = np.asarray(score, dtype=np.float32).astype(np.float64)
        y = np.asarray(y)
        positive = y.max()
        fpr, tpr, thresholds = roc_curve(y, score32, pos_label=positive, drop_intermediate=True)
        out["cases"].append({
            "name": name,
            "y": (y == positive).astype(int).tolist(),
            "score": score32.tolist(),
            "fpr": fpr.tolist(),
            "tpr": tpr.tolist(),
            "thresholds": ["inf" if np.isinf(t) else float(t) for t in thresholds],
            "auc": float(roc_auc_score(y == positive, score32)),
            "calibration": calibration_of((y == positive).astype(int), score32),
        })
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print(f"wrote {OUT}: {len(out['cases'])} cases, scikit-learn {sklearn.__version__}")


if __name__ == "__main__":
    main()
