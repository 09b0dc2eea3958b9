"""Writes Tests/Fixtures/metrics/wilcoxon.json: paired samples and
scipy.stats.wilcoxon's two-sided statistic and p-value (zero_method='wilcox'),
exact for small tie-free samples, normal approximation otherwise."""
import json, pathlib
import numpy as np
from scipy import stats

rng = np.random.default_rng(7)
cases = []
def add(x, y, method):
    r = stats.wilcoxon(x, y, zero_method="wilcox", method=method, correction=False)
    cases.append({"x": [float(v) for v in x], "y": [float(v) for v in y], "method": method,
                  "statistic": float(r.statistic), "p": float(r.pvalue)})
for n in (5, 10, 20):
    x = rng.normal(0.78, 0.05, n); y = x + rng.normal(0.01, 0.02, n)
    add(x, y, "exact")
x = rng.normal(0.8, 0.05, 30); add(x, x - rng.normal(0.005, 0.02, 30), "exact")
# ties and zeros: normal approximation with tie correction
x = np.array([0.80, 0.81, 0.82, 0.79, 0.80, 0.83, 0.78, 0.80, 0.85, 0.81])
y = np.array([0.79, 0.80, 0.82, 0.78, 0.79, 0.81, 0.79, 0.78, 0.83, 0.80])
add(x, y, "approx")
x = rng.normal(0.7, 0.1, 60); add(x, x + rng.normal(0.02, 0.05, 60), "approx")
out = pathlib.Path(__file__).resolve().parent.parent / "Tests/Fixtures/metrics/wilcoxon.json"
out.write_text(json.dumps({"scipy": stats.__name__ and __import__("scipy").__version__, "cases": cases}, indent=1))
print("wrote", out, len(cases), "cases")
