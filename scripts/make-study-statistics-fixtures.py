#!/usr/bin/env python3
"""Write Tests/Fixtures/metrics/study-statistics.json: the statistics of a
study (several arms x seeds x the same folds) as the reference libraries compute
them, which Tests/EvaluationTests/StudyStatisticsTests.swift checks sleepfold's
HolmCorrection, PairedDifferences and SubjectBootstrap against.

Needs numpy, scipy and statsmodels, in a venv outside the repository:
    python3 -m venv /tmp/venv-stats && /tmp/venv-stats/bin/pip install scipy statsmodels numpy
    /tmp/venv-stats/bin/python scripts/make-study-statistics-fixtures.py

Sections:
- "holm": p-value families and statsmodels' multipletests(method="holm")
  adjusted p-values. A null p (a test that could not be made) stays null and is
  not counted in the family: the non-null ones are adjusted as a family of their own.
- "paired": per-(fold, seed) scores of an arm and of the baseline, the numpy
  mean and median of arm - baseline, and scipy.stats.wilcoxon(arm, baseline)
  (two-sided, zero_method="wilcox", no continuity correction), exact when there
  are at most 50 non-zero differences without ties, the normal approximation
  otherwise (the rule sleepfold's WilcoxonResult follows). Scores on a 1/64 grid
  make exact ties and zero differences.
- "bootstrap": per-(seed, subject) 5x5 confusion matrices of an arm and of the
  baseline, and the pooled differences arm - baseline (every subject once, mean
  over seeds) of accuracy, macro-F1 (5 classes, an absent one scoring 0) and
  Cohen's kappa computed here with numpy from the pooled matrices. The bootstrap
  interval itself depends on sleepfold's generator; the test checks its properties.
"""
import json
import pathlib

import numpy as np
import scipy
import statsmodels
from scipy import stats
from statsmodels.stats.multitest import multipletests

rng = np.random.default_rng(19)


def holm(pvalues):
    defined = [i for i, p in enumerate(pvalues) if p is not None]
    adjusted = [None] * len(pvalues)
    if defined:
        values = multipletests([pvalues[i] for i in defined], method="holm")[1]
        for i, value in zip(defined, values):
            adjusted[i] = float(value)
    return adjusted


holm_cases = []
for family in [
    [0.01, 0.04, 0.03, 0.005],
    [float(p) for p in rng.uniform(0, 0.2, 7)],
    [0.02, 0.02, 0.5, 0.02, 0.9],            # ties get equal adjusted values
    [0.3, 0.6, 0.8],                          # capped at 1
    [0.04],
    [0.001, None, 0.2, None, 0.03],           # nulls stay null, m = 3
    [None, None],
    [float(p) for p in rng.uniform(0, 0.08, 12)],
    [1e-8, 0.5, 1.0, 0.0],
]:
    holm_cases.append({"p": family, "holm": holm(family)})


def paired(folds, seeds, shift, grid):
    fold_ids, seed_ids, arm, baseline = [], [], [], []
    for seed in seeds:
        for fold in range(folds):
            b = rng.normal(0.72, 0.05)
            a = b + rng.normal(shift, 0.02)
            if grid:
                a, b = round(a * 64) / 64, round(b * 64) / 64
            fold_ids.append(fold)
            seed_ids.append(seed)
            arm.append(float(a))
            baseline.append(float(b))
    x, y = np.array(arm), np.array(baseline)
    d = x - y
    nonzero = d[d != 0]
    ties = len(np.unique(np.abs(nonzero))) != len(nonzero)
    method = "exact" if len(nonzero) <= 50 and not ties and len(nonzero) == len(d) else "approx"
    r = stats.wilcoxon(x, y, zero_method="wilcox", method=method, correction=False)
    return {"fold": fold_ids, "seed": seed_ids, "arm": arm, "baseline": baseline,
            "mean": float(np.mean(d)), "median": float(np.median(d)),
            "method": "exact" if method == "exact" else "normal",
            "statistic": float(r.statistic), "p": float(r.pvalue)}


paired_cases = [
    paired(10, [0, 1, 2], 0.01, grid=False),     # 30 pairs: exact
    paired(5, [3, 8], -0.015, grid=False),       # 10 pairs: exact, arm worse
    paired(20, [0, 1, 2], 0.005, grid=False),    # 60 pairs: normal approximation
    paired(10, [0, 1], 0.004, grid=True),        # ties and zeros: normal approximation
]


def scores(matrix):
    m = np.asarray(matrix, dtype=float)
    total = m.sum()
    accuracy = np.trace(m) / total
    support, predicted = m.sum(axis=1), m.sum(axis=0)
    f1 = [0.0 if support[k] + predicted[k] == 0 else 2 * m[k, k] / (support[k] + predicted[k]) for k in range(5)]
    expected = (support * predicted).sum() / total**2
    kappa = (accuracy - expected) / (1 - expected)
    return accuracy, float(np.mean(f1)), kappa


def subject_matrix(skill):
    """One subject's night: ~900 epochs, stages in sleep-like shares, each
    predicted correctly with probability `skill`, else as a neighbouring stage."""
    counts = rng.multinomial(900, [0.15, 0.07, 0.45, 0.13, 0.20])
    matrix = np.zeros((5, 5), dtype=int)
    for truth, n in enumerate(counts):
        right = rng.binomial(n, skill)
        wrong = rng.multinomial(n - right, [0.25] * 4) if n > right else [0] * 4
        others = [k for k in range(5) if k != truth]
        matrix[truth, truth] = right
        for k, w in zip(others, wrong):
            matrix[truth, k] = w
    return matrix.tolist()


subjects = ["%02d" % i for i in range(12)]
seeds = [0, 1]
arm_matrices, baseline_matrices = {}, {}
for seed in seeds:
    arm_matrices[str(seed)], baseline_matrices[str(seed)] = {}, {}
    for i, subject in enumerate(subjects):
        base_skill = 0.70 + 0.02 * (i % 5)
        baseline_matrices[str(seed)][subject] = subject_matrix(base_skill)
        arm_matrices[str(seed)][subject] = subject_matrix(base_skill + 0.05)
estimates = {}
for name, index in [("accuracy", 0), ("macro_f1", 1), ("kappa", 2)]:
    per_seed = []
    for seed in seeds:
        a = scores(np.sum([arm_matrices[str(seed)][s] for s in subjects], axis=0))[index]
        b = scores(np.sum([baseline_matrices[str(seed)][s] for s in subjects], axis=0))[index]
        per_seed.append(a - b)
    estimates[name] = float(np.mean(per_seed))
bootstrap = {"subjects": subjects, "seeds": seeds, "arm": arm_matrices, "baseline": baseline_matrices,
             "estimate": estimates}

out = pathlib.Path(__file__).resolve().parent.parent / "Tests/Fixtures/metrics/study-statistics.json"
out.write_text(json.dumps({"numpy": np.__version__, "scipy": scipy.__version__, "statsmodels": statsmodels.__version__,
                           "holm": holm_cases, "paired": paired_cases, "bootstrap": bootstrap}, indent=1) + "\n")
print("wrote", out, len(holm_cases), "Holm families,", len(paired_cases), "paired cases")
