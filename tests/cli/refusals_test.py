#!/usr/bin/python3
"""Careless or hostile command lines are refused before any work, with a
message that says what is wrong (and the run changes nothing)."""
import os
import subprocess
import sys
import tempfile

darklens = sys.argv[1]
results = []


def run(args, stdin=None):
    return subprocess.run([darklens] + args, capture_output=True, input=stdin)


def expect(name, cond, detail=""):
    results.append((name, bool(cond), detail))


with tempfile.TemporaryDirectory() as tmp:
    days = os.path.join(tmp, "days")
    assert run(["synth", "--days", "1", "--sources", "400", "--seed", "2", "-q", "-o", days]).returncode == 0
    day = os.path.join(days, "darknet-2021-05-01.pcap")
    data = open(day, "rb").read()
    out = os.path.join(tmp, "out")
    r = run(["analyze", "-", "-q", "-o", out], stdin=data)
    expect("analyze -: refused at once, exit 2 (it reads its captures twice)",
           r.returncode == 2 and b"analyze: reads its captures twice" in r.stderr and not os.path.exists(out),
           r.stderr)
    r = run(["features", day, "-q", "-o", os.path.join(tmp, "f.csv")])
    t = os.path.join(tmp, "f.csv")
    r = run(["track", t, t, "--gt", os.path.join(days, "ground_truth.csv"), "--link", "nan", "-o", out])
    expect("track --link nan: refused, exit 2", r.returncode == 2 and b"'nan' is not a number between 0 and 1" in
           r.stderr, r.stderr)
    r = run(["track", t, t, "--gt", os.path.join(days, "ground_truth.csv"), "-k", "5000", "-o", out])
    expect("track -k 5000: refused, exit 2 (at most 1,000 neighbours)",
           r.returncode == 2 and b"-k: Value 5000 not in range 1 to 1000" in r.stderr, r.stderr)
    r = run(["features", day, "--flow-timeout", "inf", "-o", t])
    expect("features --flow-timeout inf: refused, exit 2", r.returncode == 2 and b"'inf' is not a number between" in
           r.stderr, r.stderr)
    r = run(["analyze", day, "--signatures", tmp, "-q", "-o", out])
    expect("analyze --signatures DIR: refused, exit 3 (not an empty catalog)",
           r.returncode == 3 and b"is a directory, not a signature catalog" in r.stderr, r.stderr)
    r = run(["cluster", t, "--pipeline", "som:46341x46341|kmeans:k=2", "-o", out])
    expect("cluster som:46341x46341: refused, exit 2 (was a crash)",
           r.returncode == 2 and b"has 2147488281 units; at most 4,096" in r.stderr, r.stderr)
    r = run(["cluster", t, "--pipeline", "kmeans:k=3,k=4", "-o", out])
    expect("cluster kmeans:k=3,k=4: refused, exit 2", r.returncode == 2 and b"k is given twice" in r.stderr, r.stderr)
    r = run(["synth", "--start", "2021-02-30", "-o", os.path.join(tmp, "s")])
    expect("synth --start 2021-02-30: refused, exit 2", r.returncode == 2 and b"that month has no day 30" in
           r.stderr and not os.path.exists(os.path.join(tmp, "s")), r.stderr)
    r = run(["cluster", t, "--categories", "onehot", "-o", out])
    expect("cluster --categories onehot: refused, exit 2, the choices named",
           r.returncode == 2 and b"--categories: onehot not in {indicators,drop,numbers}" in r.stderr, r.stderr)
    r = run(["analyze", day, "--dim", "8", "-q", "-o", out])
    expect("analyze --dim without embed in --family: refused, exit 2, the fix named",
           r.returncode == 2 and b"--dim is for the embedding: add embed to --family" in r.stderr and
           not os.path.exists(out), r.stderr)
    r = run(["analyze", day, "--family", "embed", "-q", "-o", out])
    expect("analyze --family embed alone: refused, exit 2, darklens embed named",
           r.returncode == 2 and b"the embedding joins other feature families" in r.stderr and
           b"run darklens embed, then darklens cluster" in r.stderr, r.stderr)
    r = run(["analyze", day, "--family", "agm,embed", "--services", os.path.join(tmp, "none.txt"), "-q", "-o", out])
    expect("analyze with a missing --services file: refused before any reading, exit 3, the file named",
           r.returncode == 3 and b"none.txt" in r.stderr and not os.path.exists(out), r.stderr)
    r = run(["track", t, t, "--gt", os.path.join(days, "ground_truth.csv"), "--epochs", "3", "-o", out])
    expect("track --epochs without embed in --family: refused, exit 2",
           r.returncode == 2 and b"--epochs is for the embedding" in r.stderr, r.stderr)
    # Column kinds reach the outputs a user reads.
    import json
    meta = json.load(open(t + ".meta.json"))
    expect("features meta.json: column_kinds, agm_dst_ip_mode an address, agm_dst_port_mode a category",
           meta.get("column_kinds", {}).get("agm_dst_ip_mode") == "address" and
           meta["column_kinds"].get("agm_dst_port_mode") == "category" and
           meta["column_kinds"].get("agm_packets") == "count", meta.get("column_kinds"))
    r = run(["evaluate", t, "--gt", os.path.join(days, "ground_truth.csv"), "--json"])
    ev = json.loads(r.stdout) if r.returncode == 0 else {}
    cat = ev.get("features", {}).get("categories", {})
    expect("evaluate --json: the category rule and the columns after it",
           cat.get("rule") == "indicators" and cat.get("columns_out", 0) > 15, r.stderr + r.stdout[:300])
    r = run(["cluster", t, "-q", "-o", os.path.join(tmp, "cl")])
    cs = json.load(open(os.path.join(tmp, "cl", "summary.json"))) if r.returncode == 0 else {}
    expect("cluster summary.json: categories per column, the encoding as the first fitted transform",
           cs.get("categories", {}).get("rule") == "indicators" and cs["fitted"][0]["type"] == "categories" and
           any(c["name"] == "agm_dst_port_mode" and 23 in c["indicators"] for c in cs["categories"]["columns"]),
           r.stderr)
    # --min-class: small ground-truth classes left out, and the output says so.
    gt_file = os.path.join(days, "ground_truth.csv")
    r = run(["evaluate", t, "--gt", gt_file, "--min-class", "100000"])
    expect("evaluate --min-class above every class: exit 4, no labelled rows left, and why",
           r.returncode == 4 and b"0 rows have a ground-truth label; at least 2 are needed (--min-class 100000 left "
           b"out " in r.stderr, r.stderr)
    plain = json.loads(run(["evaluate", t, "--gt", gt_file, "--json"]).stdout)
    r = run(["evaluate", t, "--gt", gt_file, "--json", "--min-class", "30"])
    mc = json.loads(r.stdout)["ground_truth"] if r.returncode == 0 else {}
    left = mc.get("min_class", {})
    expect("evaluate --min-class 30: classes and sources left out counted, fewer labelled rows",
           left.get("members") == 30 and left.get("classes_left_out", 0) > 0 and
           mc["labelled_rows"] + left["sources_left_out"] == plain["ground_truth"]["labelled_rows"],
           str(mc)[:400])
    r = run(["evaluate", t, "--gt", gt_file, "--min-class", "30"])
    expect("evaluate --min-class 30 (text): says what was left out",
           b"--min-class 30: " in r.stdout and b"left out of the scores" in r.stdout, r.stdout)
    r = run(["evaluate", t, "--gt", gt_file, "--min-class", "0"])
    expect("evaluate --min-class 0: refused, exit 2", r.returncode == 2 and b"--min-class" in r.stderr, r.stderr)
    # A capture of a handful of sources with the default pipeline (pca:20).
    r = run(["synth", "--days", "1", "--sources", "5", "--seed", "9", "-q", "-o", os.path.join(tmp, "five")])
    r = run(["analyze", os.path.join(tmp, "five", "darknet-2021-05-01.pcap"), "-q", "-o", out])
    summary = open(os.path.join(out, "summary.json")).read() if r.returncode == 0 else ""
    expect("analyze of 4 sources with the default pca:20: done, the summary says how many components pca kept",
           r.returncode == 0 and "pca:20 kept 4 components: the table has 4 rows" in summary, r.stderr)
    # embed: a bad services file, an --init table of another size, options out of range.
    day = os.path.join(tmp, "five", "darknet-2021-05-01.pcap")
    bad = os.path.join(tmp, "bad_services.txt")
    open(bad, "w").write("web tcp/80\nmail tcp/25,tcp/99999\n")
    emb = os.path.join(tmp, "e.csv")
    r = run(["embed", day, "--services", bad, "-o", emb])
    expect("embed --services with a bad port: exit 4 (bad input), file:line and the spec named, nothing written",
           r.returncode == 4 and b"bad_services.txt:2: 'tcp/99999' is not a port spec" in r.stderr and
           not os.path.exists(emb), r.stderr)
    r = run(["embed", day, "--dim", "0", "-o", emb])
    expect("embed --dim 0: refused, exit 2", r.returncode == 2 and b"--dim" in r.stderr, r.stderr)
    r = run(["embed", day, "-q", "--dim", "8", "-o", emb])
    r = run(["embed", day, "--init", emb, "-o", os.path.join(tmp, "e2.csv")])
    expect("embed --init of an 8-column table with the default --dim 50: refused, both sizes named",
           r.returncode == 2 and b"has 8 columns; --dim is 50" in r.stderr, r.stderr)
    r = run(["embed", day, "--init", emb, "--dim", "8", "-q", "-o", os.path.join(tmp, "e2.csv")])
    expect("embed --init with the same --dim: done", r.returncode == 0, r.stderr)

failed = [r for r in results if not r[1]]
for name, ok, detail in results:
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else f"  {detail}"))
print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
sys.exit(1 if failed else 0)
