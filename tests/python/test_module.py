"""`import darklens` against the command line on the same inputs: the same
feature values, the same cluster labels, the same patterns, the same
errors; the table reaches NumPy without a copy; the walk-through in
examples/ runs. Run by CTest (python.module) with PYTHONPATH pointing at
the build's python/ folder, DARKLENS_CLI and DARKLENS_TEST_DATA set."""
import csv
import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import darklens

CLI = os.environ["DARKLENS_CLI"]
DATA = os.environ["DARKLENS_TEST_DATA"]
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def cli(*args):
    r = subprocess.run([CLI, *args], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return r


@pytest.fixture(scope="module")
def day(tmp_path_factory):
    d = tmp_path_factory.mktemp("days")
    cli("synth", "--days", "1", "--sources", "600", "--seed", "5", "-q", "-o", str(d))
    return str(d / "darknet-2021-05-01.pcap")


@pytest.mark.parametrize("families,window", [("agm,intensity,temporal", "1h"), ("agm,agm-num,fingerprints", "24h")])
def test_features_equal_the_cli(day, tmp_path, families, window):
    inputs = [day, os.path.join(DATA, "greynoise_spoofed_storm_rawip.pcap")]
    out = tmp_path / "t.csv"
    cli("features", *inputs, "--family", families, "--window", window, "-o", str(out), "-q")
    with open(out) as f:
        rows = list(csv.reader(f))
    header, rows = rows[0], rows[1:]
    df = darklens.features(inputs, families=families, window=window)
    assert list(df.columns[2:]) == header[2:]
    assert len(df) == len(rows)
    assert list(df["source"]) == [r[0] for r in rows]
    expected = np.array([[float(v) for v in r[2:]] for r in rows])
    assert np.array_equal(df.iloc[:, 2:].to_numpy(), expected)


def test_the_table_reaches_numpy_without_a_copy(day):
    t = darklens.features(day, families="agm", frame=False)
    v = t["values"]
    assert v.dtype == np.float64 and v.flags.f_contiguous and not v.flags.owndata
    assert v.shape == (len(t["sources"]), len(t["columns"]))
    assert t["kinds"][t["columns"].index("agm_dst_port_mode")] == "category"
    # The array's memory is the table's: the capsule that owns it is its base.
    assert v.base is not None and type(v.base).__name__ == "PyCapsule"


def test_cluster_labels_equal_the_cli(day, tmp_path):
    table = tmp_path / "t.csv"
    cli("features", day, "--family", "agm,intensity", "-o", str(table), "-q")
    spec = "log1p|zscore|pca:10|kmeans:k=6"
    cli("cluster", str(table), "--pipeline", spec, "-o", str(tmp_path / "c"), "-q")
    with open(tmp_path / "c" / "labels.csv") as f:
        want = [int(r[-1]) for r in list(csv.reader(f))[1:]]
    df = darklens.features(day, families="agm,intensity")
    labels, summary = darklens.cluster(df, pipeline=spec)
    assert list(labels) == want
    with open(tmp_path / "c" / "summary.json") as f:
        cli_summary = json.load(f)
    assert summary["clusters"] == cli_summary["clusters"] == 6
    assert summary["sizes"] == cli_summary["sizes"]
    # A plain array: no column kinds, every column a number.
    labels2, summary2 = darklens.cluster(np.ascontiguousarray(df.iloc[:, 2:].to_numpy()), pipeline=spec)
    assert len(labels2) == len(df) and summary2["clusters"] == 6


def test_patterns_equal_the_cli(day, tmp_path):
    db = str(tmp_path / "p.db")
    cli("analyze", day, "--db", db, "-o", str(tmp_path / "a"), "-q")
    want = json.loads(cli("patterns", "export", "--db", db).stdout)["patterns"]
    got = darklens.patterns(db)
    assert [p["id"] for p in got] == [p["id"] for p in want] and got
    assert [p["sources"] for p in got] == [p["sources"] for p in want]


def test_errors_are_darklens_kinds_with_the_cli_messages(tmp_path):
    missing = str(tmp_path / "missing.pcap")
    with pytest.raises(darklens.IoError) as e:
        darklens.features(missing)
    r = subprocess.run([CLI, "stats", missing], capture_output=True, text=True)
    assert str(e.value) in r.stderr and str(e.value) == missing + ": cannot open: No such file or directory"
    page = tmp_path / "page.pcap"
    page.write_text("<html></html>\n")
    with pytest.raises(darklens.FormatError, match="not a capture file"):
        darklens.features(str(page))
    with pytest.raises(darklens.ParamError, match="bogus"):
        darklens.features(missing, families="bogus")
    with pytest.raises(darklens.Error):
        darklens.cluster(np.zeros((5, 2)), pipeline="kmeans:k=nope")
    assert issubclass(darklens.ParamError, darklens.Error) and issubclass(darklens.Error, Exception)


def test_the_walkthrough_runs(tmp_path):
    r = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "python_walkthrough.py"), CLI],
                       capture_output=True, text=True, cwd=tmp_path, env=os.environ)
    assert r.returncode == 0, r.stderr
    assert "clusters" in r.stdout
