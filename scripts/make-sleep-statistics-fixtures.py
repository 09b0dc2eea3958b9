#!/usr/bin/env python3
"""Write Tests/Fixtures/metrics/sleep-statistics.json and
Tests/Fixtures/edf/hypnogram-annotations.json, the reference values that
Tests/EvaluationTests/SleepStatisticsTests.swift and
Tests/EDFTests/HypnogramEDFTests.swift check sleepfold against, and check that
pyedflib opens the Swift-written Tests/Fixtures/edf/hypnogram/written-by-sleepfold.edf.

Needs yasa and pyedflib, in a venv outside the repository:
    python3 -m venv /tmp/venv-yasa && /tmp/venv-yasa/bin/pip install yasa pyedflib numpy
    /tmp/venv-yasa/bin/python scripts/make-sleep-statistics-fixtures.py

sleep-statistics.json, one case per hypnogram (0 W, 1 N1, 2 N2, 3 N3, 4 REM):
- "yasa": yasa.sleep_statistics(hypno, sf_hyp=1/epoch_length), NaN as null.
- "awakenings": sleep -> wake changes between consecutive epochs, counted with the
  expression of yasa.Hypnogram.sleep_statistics' SFI (is_sleep[:-1] & (hypno[1:] == "WAKE")).
- "sfi": that method's SFI (rounded by YASA to 4 decimals), null without sleep.
- "stage_shifts": the off-diagonal sum of yasa.transition_matrix(hypno) over
  the whole hypnogram.

hypnogram-annotations.json: a hypnogram, its start time and the (onset, duration,
text) list sleepfold's hypnogram EDF must hold, one "Sleep stage W/1/2/3/R" per
epoch; the script reads the committed Swift-written file with pyedflib and
fails unless pyedflib finds exactly that list and start time.
"""
import datetime
import json
import math
import pathlib
import warnings

import numpy as np
import pyedflib
import yasa
from yasa.hypno import _SLEEP_STAGES

ROOT = pathlib.Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "Tests" / "Fixtures"
NAMES = ["WAKE", "N1", "N2", "N3", "REM"]
EDF_TEXT = ["Sleep stage W", "Sleep stage 1", "Sleep stage 2", "Sleep stage 3", "Sleep stage R"]


def markov_night(rng, epochs):
    """A night-like hypnogram: wake at lights off, then a sticky walk over the stages."""
    stay = 0.9
    moves = {0: [1, 2], 1: [0, 2, 4], 2: [1, 3, 4, 0], 3: [2], 4: [0, 1, 2]}
    h = [0] * int(rng.integers(5, 60))
    while len(h) < epochs:
        s = h[-1]
        if s == 0 and len(h) > 40 and rng.random() < 0.15:
            h.append(1)
        elif s != 0 and rng.random() > stay:
            h.append(int(rng.choice(moves[s])))
        else:
            h.append(s)
    return h[:epochs]


def cases():
    rng = np.random.default_rng(16)
    out = [
        ("all wake", [0] * 12, 30),
        ("yasa docstring example", [0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 2, 3, 3, 4, 4, 4, 4, 0, 0], 30),
        ("no REM", [0, 0, 0, 1, 2, 2, 3, 3, 2, 0, 2, 2, 1, 0], 30),
        ("sleep from the first epoch", [2, 2, 3, 3, 2, 4, 4, 0, 0, 1, 2, 4, 4, 2], 30),
        ("wake at the end", [0, 1, 2, 2, 3, 2, 0, 2, 4, 4, 0, 0, 0, 0], 30),
        ("sleep to the last epoch", [0, 0, 1, 1, 2, 0, 0, 2, 3, 4], 30),
        ("two epochs", [0, 4], 30),
        ("one sleep epoch", [0, 0, 0, 3, 0, 0], 30),
        ("20-s epochs", [0, 0, 1, 2, 2, 2, 0, 2, 3, 3, 4, 4, 1, 0, 0], 20),
    ]
    for i in range(4):
        out.append((f"markov night {i + 1}", markov_night(rng, 960), 30))
    return out


def nan_to_none(x):
    return None if isinstance(x, float) and math.isnan(x) else x


def statistics_case(name, hypno, epoch_length):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # both functions are deprecated in 0.8
        stats = yasa.sleep_statistics(hypno, sf_hyp=1 / epoch_length)
        counts, _ = yasa.transition_matrix(hypno)
    hyp = yasa.Hypnogram([NAMES[s] for s in hypno], n_stages=5, freq=f"{epoch_length}s")
    values = hyp.hypno.to_numpy()
    is_sleep = np.isin(values, _SLEEP_STAGES)
    awakenings = int(np.count_nonzero(is_sleep[:-1] & (values[1:] == "WAKE")))
    sfi = nan_to_none(float(hyp.sleep_statistics()["SFI"]))
    counts = counts.to_numpy()
    shifts = int(counts.sum() - np.trace(counts))
    assert shifts == sum(a != b for a, b in zip(hypno, hypno[1:]))
    return {
        "name": name,
        "epoch_length": epoch_length,
        "hypnogram": hypno,
        "yasa": {k: nan_to_none(v) for k, v in stats.items()},
        "awakenings": awakenings,
        "sfi": sfi,
        "stage_shifts": shifts,
    }


def annotation_fixture():
    """The hypnogram the EDF tests write, and what its EDF+ file must hold."""
    hypno = [0, 0, 1, 2, 2, 3, 3, 2, 4, 4, 0, 1, 2, 4, 0]
    start = datetime.datetime(2026, 12, 4, 23, 5, 30)
    annotations = [{"onset": 30.0 * i, "duration": 30.0, "text": EDF_TEXT[s]} for i, s in enumerate(hypno)]
    return {"hypnogram": hypno, "start": start.isoformat(), "epoch_length": 30.0, "annotations": annotations}


def check_swift_written_edf(expected):
    """pyedflib must open the file sleepfold wrote and find every annotation."""
    path = FIXTURES / "edf" / "hypnogram" / "written-by-sleepfold.edf"
    if not path.exists():
        print(f"{path} missing: run the EDF tests with SLEEPFOLD_WRITE_HYPNOGRAM_FIXTURE=1 first")
        return False
    with pyedflib.EdfReader(str(path)) as f:
        onsets, durations, texts = f.readAnnotations()
        start = f.getStartdatetime()
        assert f.signals_in_file == 0, f"{f.signals_in_file} data signals, expected none"
        assert f.filetype == pyedflib.FILETYPE_EDFPLUS, f"file type {f.filetype}, expected EDF+"
    found = [{"onset": float(o), "duration": float(d), "text": str(t)} for o, d, t in zip(onsets, durations, texts)]
    assert found == expected["annotations"], f"pyedflib read {found}"
    assert start.isoformat() == expected["start"], f"pyedflib start {start}"
    print(f"pyedflib {pyedflib.__version__} reads {path.name}: {len(found)} annotations, start {start}")
    return True


def main():
    stats = {
        "yasa_version": yasa.__version__,
        "cases": [statistics_case(*c) for c in cases()],
    }
    out = FIXTURES / "metrics" / "sleep-statistics.json"
    out.write_text(json.dumps(stats, indent=1) + "\n")
    print(f"wrote {out} ({len(stats['cases'])} hypnograms, yasa {yasa.__version__})")

    expected = annotation_fixture()
    expected["pyedflib_version"] = pyedflib.__version__
    out = FIXTURES / "edf" / "hypnogram-annotations.json"
    out.write_text(json.dumps(expected, indent=1) + "\n")
    print(f"wrote {out}")
    if not check_swift_written_edf(expected):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
