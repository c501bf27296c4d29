#!/usr/bin/python3
"""Quality on the hard case: a synthetic day shaped like a real /24
telescope (`synth --profile telescope`: most sources send one or two
packets, scanning organisations share ports and one holds half of the
labelled sources, unlabelled coordinated groups, heavy hitters). The
defaults must find the labelled organisations; taking ports, TTLs and
addresses as numbers (the old rule) must not be enough."""
import json
import os
import subprocess
import sys
import tempfile

darklens = sys.argv[1]
results = []


def run(args):
    return subprocess.run([darklens] + args, capture_output=True)


def expect(name, cond, detail=""):
    results.append((name, bool(cond), detail))


def analyze(day, gt, out, *extra):
    r = run(["analyze", day, "--gt", gt, "--min-class", "5", "-q", "-o", out] + list(extra))
    if r.returncode != 0:
        return {"error": r.stderr.decode(errors="replace")}
    return json.load(open(os.path.join(out, "summary.json")))["evaluation"]


with tempfile.TemporaryDirectory() as tmp:
    days = os.path.join(tmp, "days")
    r = run(["synth", "--profile", "telescope", "--sources", "5000", "--seed", "3", "-q", "-o", days])
    assert r.returncode == 0, r.stderr
    day = os.path.join(days, "darknet-2021-05-01.pcap")
    gt = os.path.join(days, "ground_truth.csv")
    default = analyze(day, gt, os.path.join(tmp, "default"))
    numbers = analyze(day, gt, os.path.join(tmp, "numbers"), "--categories", "numbers")
    expect("defaults: 1-NN accuracy >= 0.95 and macro-F1 >= 0.80 among organisations of >= 5 sources",
           default.get("knn_accuracy", 0) >= 0.95 and default.get("knn_macro_f1", 0) >= 0.80, default)
    expect("defaults: --min-class 5 is reported", default.get("min_class", {}).get("members") == 5, default)
    expect("categories as numbers: not enough (1-NN < 0.95 or macro-F1 < 0.80)",
           numbers.get("knn_accuracy", 1) < 0.95 or numbers.get("knn_macro_f1", 1) < 0.80, numbers)
    expect("defaults beat categories as numbers on AMI against the organisations",
           default.get("ami", 0) > numbers.get("ami", 1), (default.get("ami"), numbers.get("ami")))

failed = [r for r in results if not r[1]]
for name, ok, detail in results:
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else "  " + str(detail)[:600]))
print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
sys.exit(1 if failed else 0)
