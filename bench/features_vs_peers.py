#!/usr/bin/python3
"""Speed of `darklens features` on the 2M-packet synthetic day, in one run
with its peers: `tcpdump -r FILE -w /dev/null` (reading only) and the AGM
aggregation written with dpkt (bench/agm_dpkt.py). Prints packets/s, peak
memory, memory per source and the ratios. One thread and two threads (two
files read in parallel); the same with --sync (outputs fsynced).

usage: bench/features_vs_peers.py [--darklens BIN] [--runs N] [--skip-dpkt]
"""
import argparse
import json
import os
import re
import subprocess
import sys

ap = argparse.ArgumentParser()
ap.add_argument("--darklens", default="build/release/bin/darklens")
ap.add_argument("--runs", type=int, default=3)
ap.add_argument("--work", default="bench/results/features")
ap.add_argument("--skip-dpkt", action="store_true")
args = ap.parse_args()


def remove_outputs(cmd):
    # Each run writes a new file: replacing the previous run's 94 MB table
    # would add the file system's freeing of its blocks (~25 ms on this
    # machine's ext4, mounted with discard) to the next run's time.
    if "-o" in cmd:
        out = cmd[cmd.index("-o") + 1]
        base = out[:-4] if out.endswith(".npy") else out
        for f in [out, out + ".meta.json", base + ".columns.txt", base + ".rows.csv"]:
            if os.path.exists(f):
                os.remove(f)


def run(cmd, cpus="0"):
    remove_outputs(cmd)
    p = subprocess.run(["/usr/bin/time", "-f", "%e %M %U %S", "taskset", "-c", cpus] + cmd,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}: {p.stderr}")
    lines = p.stderr.strip().splitlines()
    wall, kib, user, sys_ = lines[-1].split()
    # darklens --timings: the reading and aggregating step alone.
    m = re.search(r"read and aggregate ([0-9.]+) s", p.stderr)
    return float(wall), int(kib) / 1024, float(user), float(sys_), float(m.group(1)) if m else None


def best(cmd, cpus="0", runs=None):
    return min((run(cmd, cpus) for _ in range(runs or args.runs)), key=lambda r: r[0])


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
dl = [args.darklens, "features", "--timings", "-q"]
w, m, u, k, a = best(dl + ["--family", fam, "--threads", "1", days[0], "-o", out])
rows.append((f"darklens features ({fam}), 1 thread", n, w, m, u, k, a))
w1, m1, u1, k1, a1 = best(dl + ["--family", fam, "--threads", "2", days[0], "-o", out], cpus="0,1")
rows.append((f"darklens features, 1 file on 2 threads", n, w1, m1, u1, k1, a1))
w2, m2, u2, k2, a2 = best(dl + ["--family", fam, "--threads", "2"] + days + ["-o", out], cpus="0,1")
rows.append((f"darklens features, 2 files on 2 threads", both, w2, m2, u2, k2, a2))
# The same two runs with every output fsynced before its rename (--sync):
# what durability against a power loss costs on this disk.
ws, ms, us, ks, as_ = best(dl + ["--sync", "--family", fam, "--threads", "1", days[0], "-o", out])
rows.append(("same, 1 thread, --sync", n, ws, ms, us, ks, as_))
ws2, ms2, us2, ks2, as2 = best(dl + ["--sync", "--family", fam, "--threads", "2"] + days + ["-o", out], cpus="0,1")
rows.append(("same, 2 files on 2 threads, --sync", both, ws2, ms2, us2, ks2, as2))
wa, ma, ua, ka, aa = best(dl + ["--family", "agm", "--threads", "1", days[0], "-o", out])
rows.append(("darklens features (agm), 1 thread", n, wa, ma, ua, ka, aa))
wt, mt, ut, kt, _ = best(["tcpdump", "-r", days[0], "-w", "/dev/null"])
rows.append(("tcpdump -r FILE -w /dev/null", n, wt, mt, ut, kt, None))
if not args.skip_dpkt:
    wd, md, ud, kd, _ = best(["/usr/bin/python3", "bench/agm_dpkt.py", days[0], os.path.join(args.work, "dpkt.csv")], runs=1)
    rows.append(("dpkt + Python counters (agm)", n, wd, md, ud, kd, None))

print(f"capture: {days[0]}: {n} packets, {sources} sources")
# User and system CPU seconds of the best run: on this machine the system
# part (first touches of fresh memory) varies from run to run, the user
# part is the stable measure of the work (docs/performance.md).
# Mpkt/s: end to end (the command's wall time); aggregate: the reading
# and aggregating step alone (darklens --timings), before the table is
# built and written.
print(f"{'what':<44}{'packets':>10}{'wall s':>9}{'Mpkt/s':>8}{'aggregate':>10}{'user s':>8}{'sys s':>7}{'peak MiB':>10}{'KiB/source':>11}")
for name, pk, wall, mem, user, sys_, agg in rows:
    agg_rate = f"{pk / agg / 1e6:10.2f}" if agg else f"{'':>10}"
    print(f"{name:<44}{pk:>10}{wall:9.2f}{pk / wall / 1e6:8.2f}{agg_rate}{user:8.2f}{sys_:7.2f}{mem:10.0f}{mem * 1024 / sources:11.2f}")
print(f"ratio to tcpdump (1 thread, {fam}): {wt / w:.2f}x its speed")
if not args.skip_dpkt:
    print(f"ratio to dpkt (agm): {wd / wa:.1f}x faster")
