#!/usr/bin/python3
"""End-to-end speed of `darklens stats` against `tcpdump -r FILE -w /dev/null`.

Same file, same run, both pinned to one core (taskset -c 0), page cache
warm, best of N runs. Also shows that memory grows with the number of
sources, not of packets: peak RSS on a day of S sources, on two days of the
same S sources read together (2x packets), and on a day of 2S sources.

usage: bench/stats_vs_tcpdump.py [--darklens BIN] [--sources N] [--runs N] [--work DIR]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

ap = argparse.ArgumentParser()
ap.add_argument("--darklens", default="build/release/bin/darklens")
ap.add_argument("--sources", type=int, default=100000)
ap.add_argument("--runs", type=int, default=5)
ap.add_argument("--work", default="bench/results/stats")
args = ap.parse_args()


def run(cmd):
    """Wall seconds and peak RSS (MiB) of one command, measured by GNU time
    (a small parent: a child forked from Python would inherit Python's RSS
    high-water mark across exec)."""
    p = subprocess.run(["/usr/bin/time", "-f", "%e %M", "taskset", "-c", "0"] + cmd,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}: {p.stderr}")
    wall, kib = p.stderr.strip().splitlines()[-1].split()
    return float(wall), int(kib) / 1024


def best(cmd):
    return min(run(cmd) for _ in range(args.runs))


def synth(sources, days, out):
    if not os.path.exists(os.path.join(out, "synth.json")):
        subprocess.run([args.darklens, "synth", "--days", str(days), "--sources", str(sources),
                        "--seed", "1", "-o", out, "-q"], check=True)
    files = sorted(os.path.join(out, f) for f in os.listdir(out) if f.endswith(".pcap"))
    for f in files:  # warm the page cache
        with open(f, "rb") as fh:
            while fh.read(1 << 24):
                pass
    return files


def counts(files):
    """(packets, distinct sources) as darklens stats reports them."""
    out = subprocess.run([args.darklens, "stats", "--json"] + files, check=True,
                         capture_output=True, text=True).stdout
    j = json.loads(out)
    return j["packets"], j["distinct_sources"]


if not shutil.which("tcpdump") or not os.path.exists("/usr/bin/time"):
    sys.exit("tcpdump or GNU time missing: run scripts/setup.sh")
os.makedirs(args.work, exist_ok=True)
S = args.sources
day = synth(S, 2, os.path.join(args.work, f"s{S}"))
double = synth(2 * S, 1, os.path.join(args.work, f"s{2 * S}"))

n, _ = counts(day[:1])
dl_wall, dl_rss = best([args.darklens, "stats", day[0]])
td_wall, td_rss = best(["tcpdump", "-r", day[0], "-w", "/dev/null"])
print(f"capture: {day[0]}: {n} packets, {S} sources, {os.path.getsize(day[0]) / 2**20:.0f} MiB")
print(f"{'tool':<34}{'wall s':>9}{'Mpkt/s':>9}{'peak MiB':>10}")
print(f"{'darklens stats':<34}{dl_wall:9.3f}{n / dl_wall / 1e6:9.2f}{dl_rss:10.1f}")
print(f"{'tcpdump -r FILE -w /dev/null':<34}{td_wall:9.3f}{n / td_wall / 1e6:9.2f}{td_rss:10.1f}")
print(f"ratio: darklens is {td_wall / dl_wall:.2f}x tcpdump's speed (target >= 1.0, >= 6 Mpkt/s)")

print("\nmemory grows with sources, not packets:")
print(f"  {'input':<44}{'packets':>10}{'sources':>10}{'peak MiB':>10}{'wall s':>8}")
for label, files in [("1 day", day[:1]), ("2 consecutive days read together", day),
                     ("1 day with twice the sources", double)]:
    w, rss = best([args.darklens, "stats"] + files)
    pk, src = counts(files)
    print(f"  {label:<44}{pk:>10}{src:>10}{rss:10.1f}{w:8.3f}")
