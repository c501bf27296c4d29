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
def days(tmp_path_factory):
    d = tmp_path_factory.mktemp("days")
    cli("synth", "--days", "2", "--sources", "600", "--seed", "5", "-q", "-o", str(d))
    return [str(d / "darknet-2021-05-01.pcap"), str(d / "darknet-2021-05-02.pcap"), str(d / "ground_truth.csv")]


@pytest.fixture(scope="module")
def day(days):
    return days[0]


def read(path):
    with open(path, "rb") as f:
        return f.read()


def without(doc, *keys):
    """A JSON document without the keys that name paths or times."""
    if isinstance(doc, dict):
        return {k: without(v, *keys) for k, v in doc.items() if k not in keys}
    if isinstance(doc, list):
        return [without(v, *keys) for v in doc]
    return doc


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


def test_analyze_equals_the_cli(days, tmp_path):
    day1, _, gt = days
    cli("analyze", day1, "--gt", gt, "--db", str(tmp_path / "cli.db"), "-o", str(tmp_path / "cli"), "-q")
    lines = []
    r = darklens.analyze(day1, gt=gt, db=tmp_path / "py.db", out=tmp_path / "py", progress=lines.append)
    # The same files, byte for byte, but the summary's paths and times.
    for name in ("features.csv", "clusters.csv", "profiles.json"):
        assert read(tmp_path / "py" / name) == read(tmp_path / "cli" / name), name
    with open(tmp_path / "cli" / "summary.json") as f:
        want = json.load(f)
    volatile = ("seconds", "stored", "created", "db", "path", "inputs", "timings")
    assert without(r["summary"], *volatile) == without(want, *volatile)
    assert r["run"] == 1 and r["summary"]["stored"]["run"] == 1
    assert r["profiles"] == json.loads(read(tmp_path / "cli" / "profiles.json"))
    # The table, with each row's cluster as clusters.csv has it.
    with open(tmp_path / "cli" / "clusters.csv") as f:
        rows = list(csv.reader(f))[1:]
    df = r["table"]
    assert list(df["source"]) == [row[0] for row in rows]
    assert list(df["cluster"]) == [int(row[-1]) for row in rows] == list(r["labels"])
    assert "<html" in r["report_html"]
    # Progress: one line per stage, as the command prints them.
    assert any(line.startswith("features: ") for line in lines), lines
    # The same patterns stored, as patterns export shows them.
    want = json.loads(cli("patterns", "export", "--db", str(tmp_path / "cli.db")).stdout)
    got = darklens.export(tmp_path / "py.db")
    assert without(got["patterns"], "created") == without(want["patterns"], "created")
    assert [p["sources"] for p in got["patterns"]] == [p["sources"] for p in darklens.patterns(tmp_path / "py.db")]
    first = got["patterns"][0]["id"]
    assert darklens.pattern(tmp_path / "py.db", first) == json.loads(
        cli("patterns", "show", "--db", str(tmp_path / "cli.db"), str(first)).stdout)
    # Without out: nothing is written, the run is stored all the same.
    r2 = darklens.analyze(day1, db=tmp_path / "py.db", frame=False)
    assert r2["run"] == 2 and isinstance(r2["table"], dict)
    written = [n for n in os.listdir(tmp_path) if not n.startswith(".") and not n.endswith(("-wal", "-shm"))]
    assert sorted(written) == ["cli", "cli.db", "py", "py.db"]


def test_classify_equals_the_cli(days, tmp_path):
    day1, day2, gt = days
    cli("analyze", day1, "--db", str(tmp_path / "a.db"), "-o", str(tmp_path / "a"), "-q")
    (tmp_path / "b.db").write_bytes(read(tmp_path / "a.db"))
    cli("classify", day2, "--db", str(tmp_path / "a.db"), "-o", str(tmp_path / "cli"), "-q")
    r = darklens.classify(day2, db=tmp_path / "b.db", out=tmp_path / "py", gt=gt)
    assert read(tmp_path / "py" / "assignments.csv") == read(tmp_path / "cli" / "assignments.csv")
    assert r["run"] == 2
    with open(tmp_path / "cli" / "assignments.csv") as f:
        rows = list(csv.reader(f))[1:]
    df = r["table"]
    assert list(df["source"]) == [row[0] for row in rows]
    assert list(df["status"]) == [row[2] for row in rows]
    want = [int(row[3]) if row[2] == "known" else 0 for row in rows]
    assert list(df["pattern"]) == want
    groups = [int(row[3][4:]) if row[3].startswith("new-") else -1 for row in rows]
    assert list(df["new_group"]) == groups
    assert r["summary"]["new_sources"] == sum(1 for row in rows if row[2] == "new")
    # store=False reads the database only; the run is not recorded.
    before = read(tmp_path / "b.db")
    r2 = darklens.classify(day2, db=tmp_path / "b.db", store=False)
    assert r2["run"] is None and read(tmp_path / "b.db") == before
    with pytest.raises(darklens.IoError, match="no such pattern database"):
        darklens.classify(day2, db=tmp_path / "none.db")


def test_evaluate_equals_the_cli(days, tmp_path):
    day1, _, gt = days
    table = tmp_path / "t.csv"
    cli("features", day1, "--family", "agm,intensity", "-o", str(table), "-q")
    spec = "log1p|zscore|pca:10|kmeans:k=6"
    cli("cluster", str(table), "--pipeline", spec, "-o", str(tmp_path / "c"), "-q")
    for args, kw in [([], {}), (["-k", "3", "--metric", "cosine", "--scale", "log1p"],
                                {"k": 3, "metric": "cosine", "scale": "log1p"})]:
        want = json.loads(cli("evaluate", str(table), "--gt", gt, "--labels", str(tmp_path / "c" / "labels.csv"),
                              "--json", *args).stdout)
        df = darklens.features(day1, families="agm,intensity")
        labels, _ = darklens.cluster(df, pipeline=spec)
        got = darklens.evaluate(df, gt=gt, labels=labels, **kw)
        volatile = ("seconds", "silhouette_seconds", "path", "files")
        assert without(got, *volatile) == without(want, *volatile)
        assert got["knn"]["accuracy"] > 0.5
    # A plain array needs the rows' addresses.
    with pytest.raises(darklens.ParamError, match="source addresses"):
        darklens.evaluate(np.zeros((3, 2)), gt=gt)
    with pytest.raises(darklens.ParamError, match="metric"):
        darklens.evaluate(df, gt=gt, metric="manhattan")


def test_progress_callbacks(day, tmp_path):
    calls = []
    darklens.features([day, day], progress=lambda *a: calls.append(a))
    assert calls and all(len(c) == 3 and c[1] <= c[2] for c in calls)
    # An exception the callback raises arrives once the work is done.
    def stop(line):
        raise KeyError("stop here")
    with pytest.raises(KeyError, match="stop here"):
        darklens.analyze(day, progress=stop, out=tmp_path / "a", db=tmp_path / "p.db")
    # ...and then nothing was written or stored.
    assert not (tmp_path / "a").exists() and darklens.patterns(tmp_path / "p.db") == []


def test_the_package_finds_its_own_data(day, tmp_path):
    # No DARKLENS_DATA_DIR: the signature catalog comes from the package's data/.
    env = {k: v for k, v in os.environ.items() if k != "DARKLENS_DATA_DIR"}
    code = ("import darklens, sys; r = darklens.analyze(sys.argv[1]); "
            "print(sum(1 for p in r['profiles'] if p.get('activities')))")
    r = subprocess.run([sys.executable, "-c", code, day], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    assert int(r.stdout) > 0
    env["DARKLENS_DATA_DIR"] = str(tmp_path)
    r = subprocess.run([sys.executable, "-c", code, day], capture_output=True, text=True, env=env)
    assert r.returncode != 0 and "signatures.txt: shipped data file not found" in r.stderr


def test_origins_equal_maxminddb():
    maxminddb = pytest.importorskip("maxminddb")
    asn_db = os.path.join(DATA, "origin", "asn.mmdb")
    geo_db = os.path.join(DATA, "origin", "country-iso.mmdb")
    addresses = ["1.0.0.7", "198.51.100.9", "198.51.100.200", "203.0.113.77", "10.1.2.3", "2001:db8::1",
                 "2606:4700::1111"]
    df = darklens.origins(addresses, asn_db=asn_db, geo_db=geo_db)
    assert list(df["source"]) == addresses
    with maxminddb.open_database(asn_db) as a, maxminddb.open_database(geo_db) as g:
        def value(v):
            return None if pd.isna(v) else v
        for i, ip in enumerate(addresses):
            ra, rg = a.get(ip) or {}, g.get(ip) or {}
            assert value(df["asn"][i]) == ra.get("autonomous_system_number"), ip
            assert value(df["as_org"][i]) == ra.get("autonomous_system_organization"), ip
            assert value(df["country"][i]) == rg.get("country", {}).get("iso_code"), ip
    assert list(df["as_org"][:3]) == ["Cloudflare, Inc.", "Caf\u00e9 Net", "Inner Block"]
    assert df["asn"].notna().sum() == 5 and df["country"].notna().sum() == 3
    # Only a country database: no AS columns filled.
    d = darklens.origins(addresses[:2], geo_db=geo_db, frame=False)
    assert d["asn"] == [None, None]
    with pytest.raises(darklens.ParamError, match="'1.2.3' is not an IP address"):
        darklens.origins(["1.2.3"], asn_db=asn_db)
    with pytest.raises(darklens.IoError, match="none.mmdb"):
        darklens.origins(["1.1.1.1"], asn_db=os.path.join(DATA, "origin", "none.mmdb"))


def test_pip_install_into_a_virtual_environment(day, tmp_path):
    # setup.py over the build tree the tests run in (nothing compiled twice).
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DARKLENS_DATA_DIR")}
    env["DARKLENS_BUILD_DIR"] = os.environ["DARKLENS_BUILD_DIR"]
    r = subprocess.run([str(venv / "bin" / "pip"), "install", "--no-build-isolation", "--no-deps", "--no-index", ROOT],
                       capture_output=True, text=True, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    code = ("import darklens, sys; r = darklens.analyze(sys.argv[1]); print(darklens.__file__); "
            "print(r['summary']['sources'], len(r['profiles']))")
    r = subprocess.run([str(venv / "bin" / "python"), "-c", code, day], capture_output=True, text=True, env=env,
                       cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    where, counts = r.stdout.splitlines()
    assert where.startswith(str(venv)), where
    assert int(counts.split()[0]) > 0 and int(counts.split()[1]) > 0
    assert os.path.isfile(os.path.join(os.path.dirname(where), "data", "signatures.txt"))
    # The sources stay clean: setuptools wrote under the build folder.
    assert not any(n.endswith(".egg-info") for n in os.listdir(os.path.join(ROOT, "python")))
    r = subprocess.run([str(venv / "bin" / "pip"), "uninstall", "-y", "darklens"], capture_output=True, text=True,
                       env=env)
    assert r.returncode == 0 and not os.path.exists(os.path.dirname(where))


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
    with pytest.raises(darklens.ParamError) as e:
        darklens.features(missing, prefix="198.51.100.0/24,1.2.3")
    assert str(e.value) == "--prefix: '1.2.3' is not an address prefix (a.b.c.d/n or x::/n)"
    with pytest.raises(darklens.Error):
        darklens.cluster(np.zeros((5, 2)), pipeline="kmeans:k=nope")
    assert issubclass(darklens.ParamError, darklens.Error) and issubclass(darklens.Error, Exception)


def test_the_walkthrough_runs(tmp_path):
    r = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "python_walkthrough.py"), CLI],
                       capture_output=True, text=True, cwd=tmp_path, env=os.environ)
    assert r.returncode == 0, r.stderr
    assert "clusters" in r.stdout
