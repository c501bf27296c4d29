#!/usr/bin/python3
"""Strong and weak scaling of `darklens-mpi features` on this machine, in
one run, beside `darklens features` on 1 and 2 threads: a synthetic day
(`darklens synth`) cut into hourly captures (editcap -i 3600).

- strong: the whole day on 1 and 2 ranks (and darklens on 1 and 2 threads);
- weak: half the hours on 1 rank, all of them on 2 ranks (the same work
  per rank).

Each run's wall time (best of three) and the peak RSS of its largest process (GNU time's
maximum resident set size over the children); the tables are compared
byte for byte with darklens' (all must be equal); the bytes routed between
ranks estimated from the packets used (56 bytes each, (N-1)/N of them).

usage: bench/mpi_scaling.py [--sources 400000] [--work bench/results/mpi] [--family agm,intensity,fingerprints]
"""
import argparse
import filecmp
import json
import os
import re
import subprocess
import time

ap = argparse.ArgumentParser()
ap.add_argument("--darklens", default="build/release/bin/darklens")
ap.add_argument("--darklens-mpi", default="build/release/bin/darklens-mpi")
ap.add_argument("--work", default="bench/results/mpi")
ap.add_argument("--sources", type=int, default=400_000)
ap.add_argument("--family", default="agm,intensity,fingerprints")
args = ap.parse_args()
darklens, darklens_mpi = os.path.abspath(args.darklens), os.path.abspath(args.darklens_mpi)
env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
os.makedirs(args.work, exist_ok=True)
os.chdir(args.work)

day = f"s{args.sources}/darknet-2021-05-01.pcap"
if not os.path.exists(day):
    subprocess.run([darklens, "synth", "-o", f"s{args.sources}", "--days", "1", "--sources", str(args.sources),
                    "--seed", "1", "-q"], check=True)
hours_dir = f"h{args.sources}"
if not os.path.isdir(hours_dir):
    os.mkdir(hours_dir)
    subprocess.run(["editcap", "-i", "3600", day, f"{hours_dir}/h.pcap"], check=True, capture_output=True)
hours = sorted(f"{hours_dir}/{f}" for f in os.listdir(hours_dir))


def timed(cmd):
    t0 = time.perf_counter()
    r = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, capture_output=True, env=env)
    seconds = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {r.stderr.decode()[-500:]}")
    rss_kib = int(r.stderr.decode().strip().splitlines()[-1])
    return seconds, rss_kib / 1024


def features(files, out, ranks=0, threads=1):
    flags = ["features", "--family", args.family, "--window", "1h", "--threads", str(threads), *files, "-o", out, "-q"]
    if ranks:
        return timed(["mpirun", "-np", str(ranks), darklens_mpi] + flags)
    return timed([darklens] + flags)


rows = []
half = hours[: len(hours) // 2]
runs = [
    ("strong", "darklens, 1 thread", hours, 0, 1),
    ("strong", "darklens, 2 threads", hours, 0, 2),
    ("strong", "darklens-mpi, 1 rank", hours, 1, 1),
    ("strong", "darklens-mpi, 2 ranks", hours, 2, 1),
    ("weak", "darklens-mpi, 1 rank, half the hours", half, 1, 1),
    ("weak", "darklens-mpi, 2 ranks, all the hours", hours, 2, 1),
]
reference = {}
for kind, name, files, ranks, threads in runs:
    out = re.sub(r"[^a-z0-9]+", "_", name) + ".npy"
    best = None
    for _ in range(3):  # best of three
        s, rss = features(files, out, ranks, threads)
        best = (s, rss) if best is None or s < best[0] else best
    key = len(files)
    if key not in reference:
        subprocess.run([darklens, "features", "--family", args.family, "--window", "1h", *files, "-o",
                        f"ref{key}.npy", "-q"], check=True, env=env)
        reference[key] = f"ref{key}.npy"
    same = filecmp.cmp(out, reference[key], shallow=False)
    with open(out + ".meta.json") as f:
        meta = json.load(f)
    used = meta["packets"]["used"] if isinstance(meta["packets"], dict) else None
    routed = int(used * 56 * (ranks - 1) / ranks) if ranks and used else 0
    rows.append((kind, name, len(files), best[0], best[1], same, routed, meta["rows"], used))

print(f"{args.sources} sources, {len(hours)} hourly captures, --family {args.family}, --window 1h\n")
print("| scaling | run | captures | rows | packets used | wall s | peak RSS of the largest process MiB | routed MB | table equal |")
print("|---|---|---|---|---|---|---|---|---|")
for kind, name, n, s, rss, same, routed, nrows, used in rows:
    print(f"| {kind} | {name} | {n} | {nrows:,} | {used:,} | {s:.2f} | {rss:.0f} | {routed / 1e6:.0f} | {'yes' if same else 'NO'} |")
