#!/usr/bin/env python3
"""Write Tests/Fixtures/staging/expected.json, what Tests/StagingTests checks
`sleepfold stage`'s outputs against, and check with pyedflib that the committed
Tests/Fixtures/staging/hypnogram.edf (written by StagedNight.hypnogramEDF, the
code that writes a staged night's hypnogram.edf) opens and holds one "Sleep stage"
annotation per epoch.

Needs yasa 0.8.1, pyedflib and MNE, in a venv outside the repository:
    python3 -m venv /tmp/venv-stage && /tmp/venv-stage/bin/pip install yasa==0.8.1 pyedflib mne numpy
    /tmp/venv-stage/bin/python scripts/make-staging-fixtures.py

expected.json:
- "stages": a predicted hypnogram of an 8-hour night (960 epochs of 30 s; 0 W, 1 N1,
  2 N2, 3 N3, 4 REM) and "start": the night's start time;
- "yasa": yasa.sleep_statistics(stages, sf_hyp=1/30), NaN as null, plus
  "awakenings" (sleep -> wake changes, YASA's SFI numerator) and "stage_shifts"
  (off-diagonal sum of yasa.transition_matrix);
- "pyedflib": what pyedflib reads from staging/hypnogram.edf: file type, data
  signal count, start date time, and every (onset, duration, text);
- "mne": what mne.read_annotations reads from it (onsets, durations, texts).
The script fails unless pyedflib and MNE each read exactly one annotation per
epoch with onset 30 i, duration 30 and the stage's Sleep-EDF text.

The first time (or after the writer changed): run the script (it writes the
stages), then `SLEEPFOLD_WRITE_STAGING_FIXTURE=1 swift test --filter
StagingFixtureTests` to write hypnogram.edf, then the script again.
"""
import datetime
import json
import math
import pathlib
import warnings

import mne
import numpy as np
import pyedflib
import yasa

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests" / "Fixtures" / "staging"
EDF_TEXT = ["Sleep stage W", "Sleep stage 1", "Sleep stage 2", "Sleep stage 3", "Sleep stage R"]
START = datetime.datetime(2026, 12, 4, 22, 47, 15)


def night(rng, epochs=960):
    """A night-like hypnogram: wake at lights off, ~90-min cycles of N1 -> N2 -> N3 -> N2 -> REM,
    brief awakenings, wake at the end."""
    h = [0] * int(rng.integers(20, 40))
    while len(h) < epochs - 20:
        for stage, mean in [(1, 4), (2, 30), (3, 40 if len(h) < 500 else 8), (2, 20), (4, 20 if len(h) < 400 else 40)]:
            h += [stage] * max(1, int(rng.poisson(mean)))
            if rng.random() < 0.3:
                h += [0] * int(rng.integers(1, 4))
    h = h[: epochs - 12] + [0] * 12
    return h[:epochs]


def nan_to_none(x):
    return None if isinstance(x, float) and math.isnan(x) else x


def statistics(stages):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # both are deprecated in 0.8
        stats = yasa.sleep_statistics(stages, sf_hyp=1 / 30)
        counts, _ = yasa.transition_matrix(stages)
    counts = counts.to_numpy()
    values = np.asarray(stages)
    awakenings = int(np.count_nonzero((values[:-1] != 0) & (values[1:] == 0)))
    out = {k: nan_to_none(float(v)) for k, v in stats.items()}
    out["awakenings"] = awakenings
    out["stage_shifts"] = int(counts.sum() - np.trace(counts))
    return out


def read_with_pyedflib(path, stages):
    with pyedflib.EdfReader(str(path)) as f:
        onsets, durations, texts = f.readAnnotations()
        found = {
            "filetype": "EDF+" if f.filetype == pyedflib.FILETYPE_EDFPLUS else str(f.filetype),
            "signals_in_file": int(f.signals_in_file),
            "start": f.getStartdatetime().isoformat(),
            "onsets": [float(o) for o in onsets],
            "durations": [float(d) for d in durations],
            "texts": [str(t) for t in texts],
        }
    assert found["filetype"] == "EDF+", found["filetype"]
    assert found["signals_in_file"] == 0, found["signals_in_file"]
    assert found["start"] == START.isoformat(), found["start"]
    assert found["onsets"] == [30.0 * i for i in range(len(stages))], "onsets"
    assert found["durations"] == [30.0] * len(stages), "durations"
    assert found["texts"] == [EDF_TEXT[s] for s in stages], "texts"
    return found


def read_with_mne(path, stages):
    annotations = mne.read_annotations(str(path))
    found = {
        "onsets": [float(o) for o in annotations.onset],
        "durations": [float(d) for d in annotations.duration],
        "texts": [str(t) for t in annotations.description],
    }
    assert found["onsets"] == [30.0 * i for i in range(len(stages))], "MNE onsets"
    assert found["durations"] == [30.0] * len(stages), "MNE durations"
    assert found["texts"] == [EDF_TEXT[s] for s in stages], "MNE texts"
    return found


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    stages = night(np.random.default_rng(1604))
    expected = {
        "yasa_version": yasa.__version__,
        "pyedflib_version": pyedflib.__version__,
        "mne_version": mne.__version__,
        "start": START.isoformat(),
        "stages": stages,
        "yasa": statistics(stages),
    }
    edf = OUT / "hypnogram.edf"
    if edf.exists():
        expected["pyedflib"] = read_with_pyedflib(edf, stages)
        print(f"pyedflib {pyedflib.__version__} reads {edf.name}: {len(stages)} annotations, start {START}")
        expected["mne"] = read_with_mne(edf, stages)
        print(f"MNE {mne.__version__} reads {edf.name}: {len(stages)} annotations")
    else:
        print(f"{edf} missing: run SLEEPFOLD_WRITE_STAGING_FIXTURE=1 swift test --filter StagingFixtureTests, then this again")
    (OUT / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")
    print(f"wrote {OUT / 'expected.json'} ({len(stages)} epochs, yasa {yasa.__version__})")
    if "pyedflib" not in expected:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
