#!/usr/bin/python3
"""Do two darklens binaries give the same outputs? For refactoring: runs
the demo's job (synth, analyze with ground truth and a database, classify
of two later days, patterns list/export), cluster with every algorithm and
SOM, track, evaluate and features in every format, with each binary, then
compares every file byte for byte. Values that measure time or name the
output folder (the "seconds" of summaries, run timestamps, temporary
paths) are masked first; nothing else is.

    bench/same_outputs.py OLD_DARKLENS NEW_DARKLENS [--sources 20000]
"""
import argparse
import filecmp
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time

ap = argparse.ArgumentParser()
ap.add_argument("old")
ap.add_argument("new")
ap.add_argument("--sources", type=int, default=20000)
args = ap.parse_args()

TIMING = re.compile(rb'("(?:seconds|created|generated)"\s*:\s*)("[^"]*"|[-0-9.e+]+)')
# Run timestamps (today's date; the synthetic traffic is of 2021).
NOW = re.compile(time.strftime("%Y-%m-%d", time.gmtime()).encode() + rb"[T ][0-9:.]+Z?")


def jobs(bin_, out, days):
    d1, d2, d3 = (os.path.join(days, f"darknet-2021-05-0{i}.pcap") for i in (1, 2, 3))
    gt = os.path.join(days, "ground_truth.csv")
    db = os.path.join(out, "patterns.db")
    run = [
        ["analyze", d1, "--gt", gt, "--db", db, "-q", "-o", f"{out}/day1"],
        ["classify", "--db", db, d2, "--gt", gt, "-q", "-o", f"{out}/day2"],
        ["classify", "--db", db, d3, "--gt", gt, "-q", "-o", f"{out}/day3"],
        ["patterns", "export", "--db", db, "-o", f"{out}/patterns.json"],
        ["features", d1, "-q", "-o", f"{out}/f.csv"],
        ["features", d1, "--family", "agm-num", "-q", "-o", f"{out}/f.npy"],
        ["features", d2, "-q", "-o", f"{out}/f2.csv"],
        ["features", d2, "--family", "agm,intensity,temporal,fingerprints", "-q", "-o", f"{out}/f.jsonl"],
        ["features", d3, "--family", "agm-ext,fingerprints", "--prefix", "198.51.100.0/24", "--class",
         "scan,other", "--filter", "tcp or icmp", "--window", "6h", "-q", "-o", f"{out}/f3.csv"],
        ["features", d3, "--family", "agm-num,intensity", "--prefix", "198.51.100.0/24", "--min-packets", "3",
         "-q", "-o", f"{out}/f4.csv"],
        ["evaluate", "--gt", gt, f"{out}/f.npy"],
        ["track", "--gt", gt, f"{out}/f.csv", f"{out}/f2.csv", "-q", "-o", f"{out}/track"],
    ]
    for i, spec in enumerate(["log1p|zscore|pca:10|kmeans:k=auto", "zscore|pca:3|dbscan:eps=auto",
                              "zscore|pca:variance=0.9|meanshift:bin_seeding=1", "robust|pca:5|hac:linkage=ward,k=auto",
                              "minmax|som:8x8,seed=2|kmeans:k=6", "zscore|hac:linkage=average,distance=2.5"]):
        run.append(["cluster", "--pipeline", spec, f"{out}/f.npy", "-q", "-o", f"{out}/cluster{i}"])
    logs = []
    for cmd in run:
        r = subprocess.run([bin_] + cmd, capture_output=True)
        logs.append((cmd, r.returncode, r.stdout))
        if r.returncode != 0:
            sys.exit(f"{bin_} {' '.join(cmd)}: exit {r.returncode}: {r.stderr.decode(errors='replace')}")
    with open(os.path.join(out, "commands.log"), "wb") as f:
        for cmd, rc, stdout in logs:
            f.write(" ".join(cmd).encode() + f" -> {rc}\n".encode() + stdout)
    # The database's content, without its run timestamps.
    con = sqlite3.connect(db)
    with open(os.path.join(out, "patterns.db.txt"), "w") as f:
        for line in con.iterdump():
            f.write(line + "\n")
    con.close()
    os.remove(db)


def masked(path, root):
    data = open(path, "rb").read().replace(root.encode(), b"OUT")
    return NOW.sub(b"NOW", TIMING.sub(rb"\1T", data))


with tempfile.TemporaryDirectory() as tmp:
    days = os.path.join(tmp, "days")
    subprocess.run([args.old, "synth", "--days", "3", "--sources", str(args.sources), "--seed", "1", "-o", days],
                   check=True, capture_output=True)
    outs = []
    for name, b in (("old", args.old), ("new", args.new)):
        out = os.path.join(tmp, name)
        os.makedirs(out)
        jobs(b, out, days)
        outs.append(out)
    # The tool's own bookkeeping beside its outputs (locks, run markers:
    # docs/outputs.md) is not an output.
    def outputs(root):
        return {os.path.relpath(os.path.join(dp, f), root) for dp, _, fs in os.walk(root) for f in fs
                if f != ".darklens-run" and not f.endswith(".darklens-lock")}
    files = sorted(outputs(outs[0]) | outputs(outs[1]))
    differ = []
    for rel in files:
        a, b = (os.path.join(o, rel) for o in outs)
        if not (os.path.exists(a) and os.path.exists(b)) or masked(a, outs[0]) != masked(b, outs[1]):
            differ.append(rel)
    for rel in differ:
        print("DIFFERS", rel)
    print(f"{len(files) - len(differ)} of {len(files)} outputs identical")
    sys.exit(1 if differ else 0)
