#!/usr/bin/python3
"""Speed and memory of two darklens binaries on the same work, in one run:
for a refactoring, "the benchmark figures are unchanged within noise".
Times `features` (four families; one thread, and one file on two threads)
and `analyze` (default pipeline, ground truth, database; two threads) on
the synthetic day of docs/performance.md (100,000 sources, 2.1M packets),
the two binaries alternated run by run so that a slow spell of the machine
hits both; prints best-of-N wall seconds, user seconds and peak RSS, and
the ratio new/old.

    bench/speed_vs_binary.py OLD_DARKLENS NEW_DARKLENS [--runs 5]
"""
import argparse
import os
import shutil
import subprocess
import sys

ap = argparse.ArgumentParser()
ap.add_argument("old")
ap.add_argument("new")
ap.add_argument("--runs", type=int, default=5)
ap.add_argument("--work", default="bench/results/speed")
args = ap.parse_args()

os.makedirs(args.work, exist_ok=True)
day = os.path.join(args.work, "darknet-2021-05-01.pcap")
if not os.path.exists(day):
    subprocess.run([args.new, "synth", "--sources", "100000", "--seed", "1", "-o", args.work, "-q"], check=True)
gt = os.path.join(args.work, "ground_truth.csv")
fam = "agm,intensity,temporal,fingerprints"


def jobs(out):
    return {
        "features, 4 families, 1 thread": (["features", "--family", fam, "--threads", "1", "-q", day, "-o", out + ".npy"], "0"),
        "features, 4 families, 1 file on 2 threads": (["features", "--family", fam, "--threads", "2", "-q", day, "-o",
                                                       out + ".npy"], "0,1"),
        "analyze, defaults with ground truth and database, 2 threads": (
            ["analyze", day, "--gt", gt, "--db", out + ".db", "-t", "2", "-q", "-o", out + "-dir"], "0,1"),
    }


def clean(out):
    for f in os.listdir(args.work):
        if f.startswith(os.path.basename(out)):
            p = os.path.join(args.work, f)
            shutil.rmtree(p) if os.path.isdir(p) else os.remove(p)


def run(binary, cmd, cpus, out):
    clean(out)
    p = subprocess.run(["/usr/bin/time", "-f", "%e %M %U", "taskset", "-c", cpus, binary] + cmd,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        sys.exit(f"failed: {binary} {' '.join(cmd)}: {p.stderr}")
    wall, kib, user = p.stderr.strip().splitlines()[-1].split()
    return float(wall), int(kib) / 1024, float(user)


out = os.path.join(args.work, "out")
print("| what | old wall s | new wall s | new/old | old user s | new user s | old peak MiB | new peak MiB |")
print("|---|---|---|---|---|---|---|---|")
for name, (cmd, cpus) in jobs(out).items():
    res = {"old": [], "new": []}
    for _ in range(args.runs):
        for which in ("old", "new"):
            res[which].append(run(getattr(args, which), cmd, cpus, out))
    o, n = (min(res[w], key=lambda r: r[0]) for w in ("old", "new"))
    print(f"| {name} | {o[0]:.2f} | {n[0]:.2f} | {n[0] / o[0]:.3f} | {o[2]:.2f} | {n[2]:.2f} | {o[1]:.0f} | {n[1]:.0f} |")
clean(out)
