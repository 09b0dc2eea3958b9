"""Writes Tests/Fixtures/folds/attnsleep-folds.json: the AttnSleep paper's test
folds, computed as its code computes them (utils/util.py: load_folds_data and
load_folds_data_shhs), independently of sleepfold's Swift code:

    subjects_in_order = np.asarray(sorted_subjects)[order]
    folds = np.array_split(subjects_in_order, k)

Inputs are the copies of ../shared/reference in Tests/Fixtures/metrics (pass
another directory as the first argument to read the originals):
attnsleep-fold-order.json (orders "sleep-edf-20", "sleep-edf-78", "shhs") and
attnsleep-shhs1-subjects.txt (the 329 SHHS1 recordings).

Run in a throw-away venv outside the repository:
    python3 -m venv /tmp/venv-folds && /tmp/venv-folds/bin/pip install numpy
    /tmp/venv-folds/bin/python scripts/make-attnsleep-fold-fixtures.py
"""
import json, pathlib, sys
import numpy as np

repo = pathlib.Path(__file__).resolve().parent.parent
source = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else repo / "Tests/Fixtures/metrics"
orders = json.loads((source / "attnsleep-fold-order.json").read_text())
shhs = (source / "attnsleep-shhs1-subjects.txt").read_text().split()

# Sleep-EDF subjects are the two digits after "SC4" in the file names. Sleep-EDF-20
# is SC4 subjects 00-19; Sleep-EDF-78 is 00-82 less the five PhysioNet lacks.
sleep_edf_20 = ["%02d" % s for s in range(20)]
sleep_edf_78 = ["%02d" % s for s in range(83) if s not in (39, 68, 69, 78, 79)]

cohorts = []
for name, subjects, ks in [("sleep-edf-20", sleep_edf_20, [20, 10]),
                           ("sleep-edf-78", sleep_edf_78, [10, 20]),
                           ("shhs", shhs, [20, 10])]:
    order = np.asarray(orders[name])
    assert len(order) == len(subjects) and sorted(order.tolist()) == list(range(len(subjects))), name
    # The reference sorts file names; here the ids sort as their files do.
    in_order = np.asarray(sorted(subjects))[order]
    for k in ks:
        folds = np.array_split(in_order, k)
        cohorts.append({"cohort": name, "folds": k, "subjects": sorted(subjects),
                        "test": [fold.tolist() for fold in folds]})

out = repo / "Tests/Fixtures/folds/attnsleep-folds.json"
out.parent.mkdir(parents=True, exist_ok=True)
out.write_text(json.dumps({"numpy": np.__version__,
                           "about": "test subjects of each fold, in numpy.array_split order, per cohort and fold count; "
                                    "written by scripts/make-attnsleep-fold-fixtures.py",
                           "plans": cohorts}, indent=1) + "\n")
print("wrote", out, ", ".join("%s k=%d" % (c["cohort"], c["folds"]) for c in cohorts))
