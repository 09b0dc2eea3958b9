#!/usr/bin/env python3
"""Write the NPY/NPZ and cohort test fixtures of Tests/Fixtures with numpy itself.

Usage:
  python3 scripts/make-npz-fixtures.py            # (re)write the fixtures
  python3 scripts/make-npz-fixtures.py --verify DIR
      check that the files sleepfold's tests exported to DIR load in numpy with the
      expected dtypes, shapes and values (run the Swift tests with
      SLEEPFOLD_EXPORT_NPZ=DIR first; see Tests/CohortsTests/NPZTests.swift).

Every file is tiny (1-3 epochs) so the fixtures stay well under 1 MiB. Signal
values are multiples of 1/4 within +-50 (exact in float32, and their sums exact in
float64), so the Swift tests compare sums and values exactly. The expected values
are written to npz/expected.json and cohort/expected.json.
"""
import hashlib
import io
import json
import math
import os
import shutil
import sys
import zipfile

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures")
NPZ_DIR = os.path.join(ROOT, "npz")
COHORT_DIR = os.path.join(ROOT, "cohort")


def signal(n, samples=3000, seed=0):
    """(n, samples) float32 of quarter multiples in [-50, 50], different per seed."""
    k = np.arange(n * samples, dtype=np.int64)
    return (((k * 37 + seed * 11) % 401 - 200) / 4.0).astype(np.float32).reshape(n, samples)


def npy_bytes(array, version=None):
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, version=version, allow_pickle=False)
    return buffer.getvalue()


def exact(value):
    """A float as the shortest decimal that reads back to the same double. Written as a
    string: Foundation's JSONSerialization rounds long decimals on Linux."""
    return repr(float(value))


def values_json(array):
    """Flat C-order values as JSON numbers (bools as 0/1); float32 as its exact double."""
    flat = np.ascontiguousarray(array).reshape(-1)
    if flat.dtype == np.bool_:
        return [int(v) for v in flat]
    if flat.dtype.kind == "U":
        return [str(v) for v in flat]
    if flat.dtype.kind == "f":
        return [exact(v) for v in flat]
    return [int(v) for v in flat]


def describe_array(array):
    return {"dtype": array.dtype.str, "shape": list(array.shape), "values": values_json(array)}


def write_npz_fixtures():
    os.makedirs(NPZ_DIR, exist_ok=True)
    members = {
        "f4": np.array([[-1.5, 0.0, 2.25], [0.1, 3.4e38, 1e-45]], dtype=np.float32),
        "f8": np.array([0.1, -2.5, 1e300], dtype=np.float64),
        "i4": np.array([[-2147483648, 2147483647], [0, -1]], dtype=np.int32),
        "i8": np.array([-(2**40), 2**40, 7, -7], dtype=np.int64),
        "i8small": np.array([0, 4, 2], dtype=np.int64),
        "u1": np.array([0, 1, 127, 128, 255], dtype=np.uint8),
        "i1": np.array([-128, -1, 0, 127], dtype=np.int8),
        "b1": np.array([True, False, True]),
        "cube": np.arange(24, dtype=np.int32).reshape(2, 3, 4),
        "empty": np.zeros((0, 3), dtype=np.float32),
    }
    members["labels_u"] = np.array(["W", "N1", "REM sleep", "Schlafstadium \u00e9 \U0001F634"])
    scalars = {"scalar_i8": 100, "scalar_f8": 100.0, "scalar_f4": np.float32(62.5), "ch_label": "EEG Fpz-Cz"}
    np.savez(os.path.join(NPZ_DIR, "dtypes_stored.npz"), **members, **scalars)
    np.savez_compressed(os.path.join(NPZ_DIR, "dtypes_compressed.npz"), **members, **scalars)

    expected = {"members": {}}
    loaded = np.load(os.path.join(NPZ_DIR, "dtypes_stored.npz"))
    for name in loaded.files:
        expected["members"][name] = describe_array(loaded[name])

    # Single .npy files in each format version.
    versions = {
        "v1.npy": (members["f4"], (1, 0)),
        "v2.npy": (members["i8"], (2, 0)),
        "v3.npy": (members["f8"], (3, 0)),
    }
    expected["npy"] = {}
    for name, (array, version) in versions.items():
        with open(os.path.join(NPZ_DIR, name), "wb") as f:
            f.write(npy_bytes(array, version))
        expected["npy"][name] = dict(describe_array(array), version=version[0])

    # Arrays sleepfold must reject, as .npy files and as members of one archive.
    bad = {}
    bad["fortran"] = npy_bytes(np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)))
    bad["bigendian"] = npy_bytes(np.arange(3, dtype=">f4"))
    bad["complex"] = npy_bytes(np.zeros(2, dtype=np.complex64))
    bad["structured"] = npy_bytes(np.zeros(2, dtype=[("a", "<i4"), ("b", "<f4")]))
    good_f4 = npy_bytes(members["f4"])
    bad["truncated"] = good_f4[:-5]
    # Header says (2,) int32 but 3 elements follow.
    bad["oversize"] = npy_bytes(np.array([1, 2], dtype=np.int32)) + np.int32(3).tobytes()
    version4 = bytearray(good_f4)
    version4[6] = 4
    bad["badversion"] = bytes(version4)
    bad["notnpy"] = b"this is not an npy file\n"
    for name, data in bad.items():
        with open(os.path.join(NPZ_DIR, f"bad_{name}.npy"), "wb") as f:
            f.write(data)
    for name in bad:
        try:
            np.load(os.path.join(NPZ_DIR, f"bad_{name}.npy"))
            accepted = True
        except Exception:
            accepted = False
        # numpy itself accepts Fortran order, big-endian, complex and structured
        # arrays; sleepfold rejects them by design.
        assert accepted == (name in ("fortran", "bigendian", "complex", "structured", "oversize")), name

    # The same, inside one archive, stored and deflated members mixed.
    with zipfile.ZipFile(os.path.join(NPZ_DIR, "bad_members.npz"), "w") as z:
        z.writestr("ok.npy", good_f4, compress_type=zipfile.ZIP_STORED)
        z.writestr("fortran.npy", bad["fortran"], compress_type=zipfile.ZIP_STORED)
        z.writestr("bigendian.npy", bad["bigendian"], compress_type=zipfile.ZIP_DEFLATED)
        z.writestr("truncated.npy", bad["truncated"], compress_type=zipfile.ZIP_DEFLATED)
        z.writestr("oversize.npy", bad["oversize"], compress_type=zipfile.ZIP_STORED)
        z.writestr("complex.npy", bad["complex"], compress_type=zipfile.ZIP_DEFLATED)
    expected["bad_members"] = ["fortran", "bigendian", "truncated", "oversize", "complex"]

    # A member whose header is not padded to 64 bytes (numpy reads such files), so
    # inflated chunks split float64 elements; 40 kB of data spans several chunks.
    big = np.arange(5000, dtype=np.float64) * 0.5 - 7.25
    header = b"{'descr': '<f8', 'fortran_order': False, 'shape': (5000,), }\n"
    unaligned = b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + big.tobytes()
    with zipfile.ZipFile(os.path.join(NPZ_DIR, "unaligned.npz"), "w") as z:
        z.writestr("big.npy", unaligned, compress_type=zipfile.ZIP_DEFLATED)
        z.writestr("big_stored.npy", unaligned, compress_type=zipfile.ZIP_STORED)
    assert np.array_equal(np.load(os.path.join(NPZ_DIR, "unaligned.npz"))["big"], big)
    expected["unaligned"] = {"count": 5000, "sum": exact(big.sum()), "first": exact(big[0]), "last": exact(big[-1]),
                             "data_offset": 10 + len(header)}

    with open(os.path.join(NPZ_DIR, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
        f.write("\n")


def recording_expectation(x, y, fs):
    x32 = np.asarray(x).astype(np.float32)
    flat = x32.reshape(-1)
    return {
        "epochs": int(x32.shape[0]),
        "x_dtype": np.asarray(x).dtype.str,
        "x_shape": list(np.asarray(x).shape),
        "x_sum": exact(math.fsum(float(v) for v in flat)),
        "x_first": [exact(v) for v in flat[:4]],
        "x_last": exact(flat[-1]),
        "labels": [int(v) for v in y],
        "fs": exact(fs),
    }


def write_cohort_fixtures():
    if os.path.isdir(COHORT_DIR):
        shutil.rmtree(COHORT_DIR)
    expected = {}

    def save(relative, compressed=False, expect=True, **arrays):
        path = os.path.join(COHORT_DIR, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        (np.savez_compressed if compressed else np.savez)(path, **arrays)
        if expect:
            expected[relative] = recording_expectation(arrays["x"], arrays["y"], arrays["fs"])
        return path

    # A Sleep-EDF directory: subject 00 with two nights, subject 01 with one.
    save("sleepedf/SC4001E0.npz", x=signal(2, seed=1), y=np.array([0, 2], dtype=np.int32), fs=100)
    save("sleepedf/SC4002E0.npz", compressed=True, x=signal(3, seed=2)[:, :, None],
         y=np.array([2, 3, 4], dtype=np.int64), fs=100)
    # float64 x: mostly quarter multiples nudged by a relative 2^-40 (rounds back in
    # float32), and a first value of 0.1 (float32 rounding visible).
    x64 = signal(2, seed=3).astype(np.float64) * (1 + 2.0**-40)
    x64[0, 0] = 0.1
    # DeepSleepNet files carry more members, some pickled; readers must ignore them.
    save("sleepedf/SC4011E0.npz", x=x64, y=np.array([1, 4], dtype=np.int32), fs=100.0,
         ch_label="EEG Fpz-Cz", header_raw=np.array({"n_records": 2}, dtype=object))
    save("telemetry/ST7011J0.npz", compressed=True, x=signal(1, seed=4), y=np.array([0], dtype=np.int32), fs=100)

    # One file per problem, plus one good file that must not be listed.
    tiny = signal(1, seed=5)
    save("bad/SC4001E0.npz", compressed=True, x=tiny, y=np.array([3], dtype=np.int32), fs=100)
    save("bad/SC4021E0.npz", compressed=True, x=signal(3, seed=6), y=np.array([0, 7, 9], dtype=np.int32), fs=100)
    save("bad/SC4031E0.npz", compressed=True, x=signal(1, 6000, seed=7), y=np.array([2], dtype=np.int32), fs=200)
    nan = tiny.copy()
    nan[0, 17] = np.nan
    nan[0, 18] = np.inf
    save("bad/SC4041E0.npz", compressed=True, expect=False, x=nan, y=np.array([1], dtype=np.int32), fs=100)
    save("bad/SC4051E0.npz", compressed=True, expect=False, x=signal(2, seed=8), y=np.array([0, 1, 2], dtype=np.int32), fs=100)
    full = io.BytesIO()
    np.savez(full, x=signal(2, seed=9), y=np.array([0, 1], dtype=np.int32), fs=100)
    with open(os.path.join(COHORT_DIR, "bad/SC4061E0.npz"), "wb") as f:
        f.write(full.getvalue()[: len(full.getvalue()) * 6 // 10])
    save("bad/SC4071E0.npz", compressed=True, expect=False, x=signal(1, 2999, seed=10), y=np.array([0], dtype=np.int32), fs=100)
    save("bad/SC4081E0.npz", compressed=True, expect=False, x=tiny, y=np.array([0], dtype=np.int32))
    save("bad/SC4091E0.npz", compressed=True, expect=False, x=tiny, y=np.array([0.0], dtype=np.float32), fs=100)
    save("bad/SC4101E0.npz", compressed=True, expect=False, x=np.zeros((0, 3000), np.float32),
         y=np.zeros(0, np.int32), fs=100)
    save("bad/notes.npz", compressed=True, x=tiny, y=np.array([4], dtype=np.int32), fs=100)
    expected["bad_problems"] = {
        "SC4021E0.npz": "labelOutOfRange",
        "SC4031E0.npz": "sampleRateMismatch",
        "SC4041E0.npz": "nonFiniteSignal",
        "SC4051E0.npz": "epochCountMismatch",
        "SC4061E0.npz": "notAnArchive",
        "SC4071E0.npz": "unexpectedShape",
        "SC4081E0.npz": "missingMember",
        "SC4091E0.npz": "unexpectedDType",
        "SC4101E0.npz": "emptyRecording",
        "notes.npz": "unnamedRecording",
    }

    # A manifest cohort: subject A with a Sleep-EDF file and a freely named one.
    save("manifest/nights/night-a2.npz", compressed=True, x=signal(1, seed=11), y=np.array([2], dtype=np.int32), fs=100)
    save("manifest/nights/b.npz", compressed=True, x=signal(2, seed=12), y=np.array([3, 0], dtype=np.int32), fs=100)
    manifest = {"recordings": [
        {"path": "../sleepedf/SC4001E0.npz", "subject": "A", "night": 1},
        {"path": "nights/night-a2.npz", "subject": "A", "night": 2},
        {"path": "nights/b.npz", "subject": "B"},
    ]}
    with open(os.path.join(COHORT_DIR, "manifest/manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    bad_manifest = {"recordings": [
        {"path": "nights/b.npz", "subject": "B"},
        {"path": "nights/b.npz", "subject": "C"},
        {"path": "nights/missing.npz", "subject": "D"},
        {"path": "nights/night-a2.npz"},
        {"path": 3, "subject": "E"},
        {"path": "nights/night-a2.npz", "subject": "F", "night": "two"},
        "nights/b.npz",
    ]}
    with open(os.path.join(COHORT_DIR, "manifest/bad-manifest.json"), "w") as f:
        json.dump(bad_manifest, f, indent=1)
        f.write("\n")

    # Content hashes the Swift SHA-256 must reproduce (hashlib is the reference).
    expected["sha256"] = {}
    for relative in ["sleepedf/SC4001E0.npz", "sleepedf/SC4002E0.npz", "manifest/manifest.json"]:
        with open(os.path.join(COHORT_DIR, relative), "rb") as f:
            expected["sha256"][relative] = hashlib.sha256(f.read()).hexdigest()

    with open(os.path.join(COHORT_DIR, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
        f.write("\n")


def verify(directory):
    """Check files exported by the Swift tests (SLEEPFOLD_EXPORT_NPZ) against the fixtures."""
    checked = 0
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        if name.startswith("recording-"):
            # recording-<stored|deflated>-<fixture dir>-<file>.npz: written from a fixture.
            _, _, folder, original = name.split("-", 3)
            source = np.load(os.path.join(COHORT_DIR, folder, original), allow_pickle=True)
            with np.load(path) as written:
                assert sorted(written.files) == ["fs", "x", "y"], written.files
                x, y, fs = written["x"], written["y"], written["fs"]
                n = source["y"].shape[0]
                assert x.dtype == np.float32 and x.shape == (n, 3000), (name, x.dtype, x.shape)
                assert y.dtype == np.int32 and y.shape == (n,), (name, y.dtype, y.shape)
                assert fs.shape == () and fs.dtype.kind == "i" and int(fs) == 100, (name, fs.dtype, fs)
                assert np.array_equal(x, source["x"].astype(np.float32).reshape(n, 3000)), name
                assert np.array_equal(y, source["y"]), name
            checked += 1
        elif name.startswith("dtypes-"):
            # dtypes-<stored|deflated>.npz: every member of dtypes_stored.npz rewritten.
            source = np.load(os.path.join(NPZ_DIR, "dtypes_stored.npz"))
            with np.load(path) as written:
                assert sorted(written.files) == sorted(source.files), (written.files, source.files)
                for member in source.files:
                    a, b = written[member], source[member]
                    assert a.dtype == b.dtype and a.shape == b.shape, (name, member, a.dtype, a.shape)
                    assert np.array_equal(a, b), (name, member)
            checked += 1
        elif name.endswith(".npy"):
            # v<N>-<member>.npy: a member of dtypes_stored.npz written as .npy version N.
            version, member = name[:-4].split("-", 1)
            with open(path, "rb") as f:
                assert f.read(8)[6] == int(version[1:]), name
            a = np.load(path)
            b = np.load(os.path.join(NPZ_DIR, "dtypes_stored.npz"))[member]
            assert a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b), name
            checked += 1
    assert checked > 0, f"no exported files in {directory}"
    print(f"{checked} exported files load in numpy {np.__version__} with the expected dtypes, shapes and values")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--verify":
        verify(sys.argv[2])
    elif len(sys.argv) == 1:
        write_npz_fixtures()
        write_cohort_fixtures()
        total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(ROOT) for f in fs)
        print(f"fixtures written under {os.path.normpath(ROOT)} ({total} bytes)")
    else:
        sys.exit(__doc__)
