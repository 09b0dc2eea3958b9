#!/usr/bin/env python3
"""Write Tests/Fixtures/metrics/cases.json: (true, predicted) stage
label cases with scikit-learn's scores, which MetricsTests compares sleepfold's
Metrics and FoldStatistics against (to 1e-12).

Needs scikit-learn, e.g. in a venv outside the repository:
    python3 -m venv /tmp/venv-metrics && /tmp/venv-metrics/bin/pip install scikit-learn
    /tmp/venv-metrics/bin/python scripts/make-metrics-fixtures.py

Definitions (as sleepfold's Metrics documents them):
- labels=[0, 1, 2, 3, 4] (W, N1, N2, N3, REM) and zero_division=0 everywhere;
  macro-F1 averages all 5 classes, an absent one scoring 0.
- Values sklearn reports as NaN (kappa of a single shared class) or refuses
  (empty input) are null here; for empty input the per-class scores are 0 and the
  supports 0 (sleepfold's convention, not sklearn's, which raises).
- Over folds: mean and sample sd (numpy std with ddof=1) over the folds where the
  score is defined (accuracy and macro-F1: non-empty folds; kappa: not null;
  F1 of a class: folds where it is true or predicted at least once); sd is null
  with fewer than 2 such folds, mean with none.
"""
import json
import math
import os
import sys

import numpy as np
import sklearn
from sklearn.metrics import (accuracy_score, cohen_kappa_score, confusion_matrix,
                             f1_score, precision_recall_fscore_support)

LABELS = [0, 1, 2, 3, 4]
# Roughly Sleep-EDF stage shares: N2 largest, N1 rare.
SHARES = [0.20, 0.07, 0.42, 0.13, 0.18]


def nan_to_none(x):
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def scores(truth, predicted):
    """sklearn's scores of one case, with sleepfold's conventions for undefined values."""
    if len(truth) == 0:
        return {"epochs": 0, "accuracy": None, "macro_f1": None, "kappa": None,
                "precision": [0.0] * 5, "recall": [0.0] * 5, "f1": [0.0] * 5, "support": [0] * 5,
                "confusion": [[0] * 5 for _ in range(5)]}
    p, r, f, s = precision_recall_fscore_support(truth, predicted, labels=LABELS, zero_division=0)
    return {
        "epochs": len(truth),
        "accuracy": float(accuracy_score(truth, predicted)),
        "macro_f1": float(f1_score(truth, predicted, labels=LABELS, average="macro", zero_division=0)),
        # sklearn warns and returns NaN when kappa is undefined.
        "kappa": nan_to_none(float(cohen_kappa_score(truth, predicted, labels=LABELS))),
        "precision": [float(v) for v in p],
        "recall": [float(v) for v in r],
        "f1": [float(v) for v in f],
        "support": [int(v) for v in s],
        "confusion": confusion_matrix(truth, predicted, labels=LABELS).tolist(),
    }


def random_case(rng, n, skill):
    """n epochs with realistic stage shares; each prediction right with probability skill."""
    truth = rng.choice(5, size=n, p=SHARES)
    wrong = rng.integers(0, 5, size=n)
    right = rng.random(n) < skill
    predicted = np.where(right, truth, wrong)
    return truth.tolist(), predicted.tolist()


def mean_sd(values):
    values = [v for v in values if v is not None]
    n = len(values)
    return {"mean": float(np.mean(values)) if n > 0 else None,
            "sd": float(np.std(values, ddof=1)) if n > 1 else None,
            "n": n}


def fold_statistics(folds):
    per_fold = [scores(t, p) for t, p in folds]
    out = {
        "accuracy": mean_sd([m["accuracy"] for m in per_fold]),
        "macro_f1": mean_sd([m["macro_f1"] for m in per_fold]),
        "kappa": mean_sd([m["kappa"] for m in per_fold]),
        "f1_per_class": [],
    }
    for c in LABELS:
        defined = [m["f1"][c] for (t, p), m in zip(folds, per_fold) if c in t or c in p]
        out["f1_per_class"].append(mean_sd(defined))
    return out


def main():
    rng = np.random.default_rng(20240607)
    cases = []

    # Seeded random cases of many sizes and skills.
    for i, (n, skill) in enumerate([(1, 0.5), (2, 0.5), (7, 0.6), (30, 0.2), (100, 0.8), (500, 0.85),
                                    (1000, 0.5), (3000, 0.9), (3000, 0.0), (257, 0.95)]):
        truth, predicted = random_case(rng, n, skill)
        cases.append({"name": f"random-{i}-n{n}-skill{skill}", "truth": truth, "predicted": predicted})

    # Edge cases.
    cases.append({"name": "empty", "truth": [], "predicted": []})
    cases.append({"name": "perfect", "truth": [0, 1, 2, 3, 4, 2, 2, 0], "predicted": [0, 1, 2, 3, 4, 2, 2, 0]})
    cases.append({"name": "all-wrong", "truth": [0, 1, 2, 3, 4, 2, 2, 0], "predicted": [1, 2, 3, 4, 0, 0, 4, 3]})
    cases.append({"name": "single-class-perfect", "truth": [2] * 6, "predicted": [2] * 6})
    cases.append({"name": "single-class-truth-other-prediction", "truth": [2] * 6, "predicted": [1] * 6})
    cases.append({"name": "single-class-truth-mixed-prediction", "truth": [3] * 5, "predicted": [3, 3, 2, 0, 3]})
    cases.append({"name": "absent-class-n3", "truth": [0, 1, 2, 4, 2, 2, 0, 4, 1], "predicted": [0, 2, 2, 4, 2, 1, 0, 4, 1]})
    cases.append({"name": "class-predicted-never-true", "truth": [0, 0, 2, 2, 4], "predicted": [0, 3, 2, 3, 4]})
    cases.append({"name": "class-true-never-predicted", "truth": [0, 1, 1, 2, 4], "predicted": [0, 2, 2, 2, 4]})
    cases.append({"name": "one-epoch-wrong", "truth": [4], "predicted": [0]})
    cases.append({"name": "swap-two-classes", "truth": [0, 1], "predicted": [1, 0]})

    for case in cases:
        case.update(scores(case["truth"], case["predicted"]))

    # Mean ± sd over folds.
    fold_cases = []
    for i, sizes in enumerate([[300, 280, 310, 295, 305], [120, 90], [50]]):
        folds = [random_case(rng, n, 0.75) for n in sizes]
        fold_cases.append({"name": f"random-folds-{i}", "folds": folds})
    # Undefined scores are left out: an empty fold, a single-class fold (kappa
    # undefined), folds without N3.
    fold_cases.append({"name": "folds-with-undefined", "folds": [
        random_case(rng, 200, 0.7),
        ([], []),
        ([2] * 10, [2] * 10),
        ([0, 1, 2, 4, 2], [0, 2, 2, 4, 1]),
        random_case(rng, 150, 0.6),
    ]})
    for case in fold_cases:
        case["expected"] = fold_statistics(case["folds"])
        case["folds"] = [{"truth": list(t), "predicted": list(p)} for t, p in case["folds"]]

    out = {
        "about": "Generated by scripts/make-metrics-fixtures.py; do not edit. Stage labels 0..4 = W, N1, N2, N3, REM; "
                 "confusion rows true, columns predicted; null = undefined (see the script).",
        "sklearn_version": sklearn.__version__,
        "numpy_version": np.__version__,
        "cases": cases,
        "fold_cases": fold_cases,
    }
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = os.path.join(root, "Tests", "Fixtures", "metrics", "cases.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {path} ({os.path.getsize(path)} bytes, {len(cases)} cases, {len(fold_cases)} fold cases)", file=sys.stderr)


if __name__ == "__main__":
    main()
