#!/usr/bin/python3
"""Speed of `darklens features` on the 2M-packet synthetic day, in one run
with its peers: `tcpdump -r FILE -w /dev/null` (reading only) and the AGM
aggregation written with dpkt (bench/agm_dpkt.py). Prints packets/s, peak
memory, memory per source and the ratios. One thread and two threads (two
files read in parallel).

usage: bench/features_vs_peers.py [--darklens BIN] [--runs N] [--skip-dpkt]
"""
import argparse
import json
import os
import subprocess
import sys

ap = argparse.ArgumentParser()
ap.add_argument("--darklens", default="build/release/bin/darklens")
ap.add_argument("--runs", type=int, default=3)
ap.add_argument("--work", default="bench/results/features")
ap.add_argument("--skip-dpkt", action="store_true")
args = ap.parse_args()


def run(cmd, cpus="0"):
    p = subprocess.run(["/usr/bin/time", "-f", "%e %M %U %S", "taskset", "-c", cpus] + cmd,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}: {p.stderr}")
    wall, kib, user, sys_ = p.stderr.strip().splitlines()[-1].split()
    return float(wall), int(kib) / 1024, float(user), float(sys_)


def best(cmd, cpus="0", runs=None):
    return min(run(cmd, cpus) for _ in range(runs or args.runs))


os.makedirs(args.work, exist_ok=True)
if not os.path.exists(os.path.join(args.work, "synth.json")):
    subprocess.run([args.darklens, "synth", "--days", "2", "--sources", "100000", "--seed", "1",
                    "-o", args.work, "-q"], check=True)
days = sorted(os.path.join(args.work, f) for f in os.listdir(args.work) if f.endswith(".pcap"))
for d in days:
    with open(d, "rb") as fh:
        while fh.read(1 << 24):
            pass
stats = json.loads(subprocess.run([args.darklens, "stats", "--json", days[0]], check=True,
                                  capture_output=True, text=True).stdout)
n, sources = stats["packets"], stats["distinct_sources"]
both = json.loads(subprocess.run([args.darklens, "stats", "--json"] + days, check=True,
                                 capture_output=True, text=True).stdout)["packets"]
fam = "agm,intensity,temporal,fingerprints"
out = os.path.join(args.work, "f.npy")
rows = []
w, m, u, k = best([args.darklens, "features", "--family", fam, "-q", days[0], "-o", out])
rows.append((f"darklens features ({fam}), 1 thread", n, w, m, u, k))
w1, m1, u1, k1 = best([args.darklens, "features", "--family", fam, "--threads", "2", "-q", days[0], "-o", out], cpus="0,1")
rows.append((f"darklens features, 1 file on 2 threads", n, w1, m1, u1, k1))
w2, m2, u2, k2 = best([args.darklens, "features", "--family", fam, "--threads", "2", "-q"] + days + ["-o", out], cpus="0,1")
rows.append((f"darklens features, 2 files on 2 threads", both, w2, m2, u2, k2))
wa, ma, ua, ka = best([args.darklens, "features", "--family", "agm", "-q", days[0], "-o", out])
rows.append(("darklens features (agm), 1 thread", n, wa, ma, ua, ka))
wt, mt, ut, kt = best(["tcpdump", "-r", days[0], "-w", "/dev/null"])
rows.append(("tcpdump -r FILE -w /dev/null", n, wt, mt, ut, kt))
if not args.skip_dpkt:
    wd, md, ud, kd = best(["/usr/bin/python3", "bench/agm_dpkt.py", days[0], os.path.join(args.work, "dpkt.csv")], runs=1)
    rows.append(("dpkt + Python counters (agm)", n, wd, md, ud, kd))

print(f"capture: {days[0]}: {n} packets, {sources} sources")
# User and system CPU seconds of the best run: on this machine the system
# part (first touches of fresh memory) varies from run to run, the user
# part is the stable measure of the work (docs/performance.md).
print(f"{'what':<44}{'packets':>10}{'wall s':>9}{'Mpkt/s':>8}{'user s':>8}{'sys s':>7}{'peak MiB':>10}{'KiB/source':>11}")
for name, pk, wall, mem, user, sys_ in rows:
    print(f"{name:<44}{pk:>10}{wall:9.2f}{pk / wall / 1e6:8.2f}{user:8.2f}{sys_:7.2f}{mem:10.0f}{mem * 1024 / sources:11.2f}")
print(f"ratio to tcpdump (1 thread, {fam}): {wt / w:.2f}x its speed")
if not args.skip_dpkt:
    print(f"ratio to dpkt (agm): {wd / wa:.1f}x faster")
