#!/usr/bin/env python3
"""Copy the EDF test files into the test fixtures and write what reference readers see in them.

Writes, under Tests/Fixtures/edf/:
  samples/*.edf|bdf, sleep-edf/*.edf   copies of the shared test files (test_generator.edf,
                                       2.7 MB, is cut to its first 60 one-second records,
                                       with the header's record count rewritten to 60)
  expected.json                        per file: header fields, per-signal first/last samples
                                       and sums (digital and physical), annotations, all as
                                       pyedflib reads them; the signal reserved fields and
                                       the first time-keeping onset from the raw bytes
  resample-expected.json               scipy.signal.resample_poly outputs on test signals

pyedflib is not in the system Python; run it from a venv outside the repository:
  python3 -m venv --system-site-packages /tmp/venv-edf
  /tmp/venv-edf/bin/pip install pyedflib
  /tmp/venv-edf/bin/python scripts/make-edf-expectations.py [--source /work/shared/data]
"""
import argparse
import json
import os
import shutil

import numpy as np
import pyedflib
import scipy
import scipy.signal

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "edf")
EDGE = 20  # samples compared at each end of a signal


def copy_fixtures(source):
    """Copy the files the tests read; return their paths relative to OUT."""
    files = []
    for sub, dest in (("edf-samples", "samples"), ("sleep-edf", "sleep-edf")):
        os.makedirs(os.path.join(OUT, dest), exist_ok=True)
        for name in sorted(os.listdir(os.path.join(source, sub))):
            src = os.path.join(source, sub, name)
            if name == "test_generator.edf":
                name = "test_generator-first60s.edf"
                cut_records(src, os.path.join(OUT, dest, name), 60)
            else:
                shutil.copyfile(src, os.path.join(OUT, dest, name))
            files.append(f"{dest}/{name}")
    return files


def cut_records(src, dst, count):
    """The first `count` data records of an EDF file, with the record count rewritten."""
    data = open(src, "rb").read()
    header_bytes = int(data[184:192])
    ns = int(data[252:256])
    spr = [int(data[256 + 216 * ns + 8 * i: 256 + 216 * ns + 8 * (i + 1)]) for i in range(ns)]
    record = sum(spr) * (3 if data[0] == 0xFF else 2)
    head = bytearray(data[:header_bytes])
    head[236:244] = f"{count:<8d}".encode()
    open(dst, "wb").write(bytes(head) + data[header_bytes:header_bytes + count * record])


def raw_fields(path):
    """Fields pyedflib does not expose: signal reserved fields, header reserved field,
    the first time-keeping TAL onset."""
    data = open(path, "rb").read()
    ns = int(data[252:256])
    bps = 3 if data[0] == 0xFF else 2

    def field(offset, width):
        return [data[256 + offset * ns + width * i: 256 + offset * ns + width * (i + 1)]
                .decode("latin-1").rstrip(" \0") for i in range(ns)]
    labels = field(0, 16)
    spr = [int(x) for x in field(216, 8)]
    reserved = field(224, 32)
    start_offset = 0.0
    plus = data[192:197] in (b"EDF+C", b"EDF+D", b"BDF+C", b"BDF+D")
    if plus:
        ann = next(i for i, l in enumerate(labels) if l in ("EDF Annotations", "BDF Annotations"))
        offset = 256 * (ns + 1) + sum(spr[:ann]) * bps
        tal = data[offset: offset + spr[ann] * bps]
        start_offset = float(tal[:tal.index(b"\x14")].decode())
    return {"reserved": data[192:236].decode("latin-1").rstrip(" \0"),
            "signal_reserved": reserved, "labels": labels, "start_offset": start_offset,
            "record_count_field": int(data[236:244])}


def expectations(path):
    raw = raw_fields(path)
    r = pyedflib.EdfReader(path)
    try:
        start = r.getStartdatetime()
        out = {
            "filetype": r.filetype,  # 0 EDF, 1 EDF+, 2 BDF, 3 BDF+
            "records": r.datarecords_in_file,
            "record_duration": r.datarecord_duration,
            "start": start.strftime("%Y-%m-%d %H:%M:%S"),
            "reserved": raw["reserved"],
            "start_offset": raw["start_offset"],
            "labels_in_file": raw["labels"],
            "signals": [],
        }
        data_labels = [l for l in raw["labels"] if l not in ("EDF Annotations", "BDF Annotations")
                       or r.filetype in (0, 2)]
        assert r.signals_in_file == len(data_labels), (path, r.signals_in_file, data_labels)
        data_indices = [i for i, l in enumerate(raw["labels"]) if l in data_labels]
        for i in range(r.signals_in_file):
            h = r.getSignalHeader(i)
            digital = r.readSignal(i, digital=True).astype(np.int64)
            physical = r.readSignal(i)
            out["signals"].append({
                "index_in_file": data_indices[i],
                "label": h["label"],
                "transducer": h["transducer"],
                "dimension": h["dimension"],
                "physical_min": h["physical_min"],
                "physical_max": h["physical_max"],
                "digital_min": h["digital_min"],
                "digital_max": h["digital_max"],
                "prefilter": h["prefilter"],
                "reserved": raw["signal_reserved"][data_indices[i]],
                "samples_per_record": int(r.samples_in_datarecord(i)),
                "sample_frequency": r.getSampleFrequency(i),
                "samples": int(r.getNSamples()[i]),
                "digital_first": digital[:EDGE].tolist(),
                "digital_last": digital[-EDGE:].tolist(),
                "digital_sum": int(digital.sum()),
                "physical_first": physical[:EDGE].tolist(),
                "physical_last": physical[-EDGE:].tolist(),
                "physical_sum": float(physical.sum()),
                "physical_abs_sum": float(np.abs(physical).sum()),
            })
        onsets, durations, texts = r.readAnnotations()
        out["annotations"] = [[float(o), float(d), str(t)] for o, d, t in zip(onsets, durations, texts)]
        return out
    finally:
        r.close()


def resample_cases():
    """resample_poly(x, up, down) for the rate pairs preparation meets, on a signal of
    tones, a chirp and noise (the input is stored too, so no generator has to match)."""
    rng = np.random.RandomState(20240601)
    cases = []
    for rate_in, rate_out in ((125, 100), (128, 100), (200, 100), (256, 100), (12.8, 100), (100, 128), (250, 100)):
        n = int(round(4 * rate_in)) + 7
        t = np.arange(n) / rate_in
        x = (np.sin(2 * np.pi * 3.0 * t) + 0.5 * np.cos(2 * np.pi * 0.37 * rate_in * t)
             + scipy.signal.chirp(t, 1, t[-1], 0.45 * rate_in) * 0.3 + 0.2 * rng.randn(n))
        frac = np.float64(rate_out) / np.float64(rate_in)
        up, down = {(125, 100): (4, 5), (128, 100): (25, 32), (200, 100): (1, 2), (256, 100): (25, 64),
                    (12.8, 100): (125, 16), (100, 128): (32, 25), (250, 100): (2, 5)}[(rate_in, rate_out)]
        assert abs(up / down - frac) < 1e-12
        y = scipy.signal.resample_poly(x, up, down)
        cases.append({"rate_in": rate_in, "rate_out": rate_out, "up": up, "down": down,
                      "x": x.tolist(), "y": y.tolist()})
    return cases


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", default="/work/shared/data")
    args = parser.parse_args()
    files = copy_fixtures(args.source)
    expected = {"generator": f"pyedflib {pyedflib.__version__}, numpy {np.__version__}",
                "edge": EDGE, "files": {f: expectations(os.path.join(OUT, f)) for f in files}}
    with open(os.path.join(OUT, "expected.json"), "w") as fh:
        json.dump(expected, fh, indent=1, ensure_ascii=False)
        fh.write("\n")
    with open(os.path.join(OUT, "resample-expected.json"), "w") as fh:
        json.dump({"generator": f"scipy {scipy.__version__} resample_poly, window ('kaiser', 5.0)",
                   "cases": resample_cases()}, fh)
        fh.write("\n")
    for f in files:
        print(f, os.path.getsize(os.path.join(OUT, f)))


if __name__ == "__main__":
    main()
