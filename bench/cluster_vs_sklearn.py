#!/usr/bin/python3
"""Speed of `darklens cluster` against scikit-learn 1.2 on the same
matrices, in one run: the source studies' daily sizes (33,000 and 101,000
sources of a synthetic day, the 29 agm-num columns standardized, and the
same after PCA to 3 dimensions). For each algorithm: wall time and peak
memory of both, the ratio, and whether the results agree (adjusted Rand
index; for DBSCAN the same noise rows; for k-means the inertia ratio).

darklens' time is the whole command (reading the .npy, the algorithm, the
silhouette it reports, writing the outputs) on 2 threads; scikit-learn's is
the fit alone (time.perf_counter around .fit(), its own threads), its
memory the whole process'. Runs that scikit-learn cannot do here (its
ward/average/complete keep n(n-1)/2 distances: 38 GiB at 101k rows) or
that pass --timeout or --memory-cap are reported as such.

With --data blobs the matrix is instead n rows of 29 standardized Gaussian
blobs (scikit-learn's make_blobs, 8 centres, seed 1) without a single
duplicate row: darklens clusters the distinct rows of a darknet table
weighted by their copies, and this is the case where that saves nothing.

usage: bench/cluster_vs_sklearn.py [--darklens BIN] [--timeout S] [--sizes 33000,101000] [--data day|blobs]
"""
import argparse
import hashlib
import json
import os
import signal
import subprocess
import sys
import time

import numpy
from sklearn.decomposition import PCA
from sklearn.metrics import adjusted_rand_score
from sklearn.preprocessing import StandardScaler

ap = argparse.ArgumentParser()
ap.add_argument("--darklens", default="build/release/bin/darklens")
ap.add_argument("--work", default="bench/results/cluster")
ap.add_argument("--timeout", type=int, default=400)
ap.add_argument("--memory-cap", type=int, default=16, help="GiB of address space scikit-learn may use")
ap.add_argument("--sizes", default="33000,101000")
ap.add_argument("--only", default="", help="comma-separated algorithm names to run")
ap.add_argument("--data", choices=["day", "blobs"], default="day",
                help="a synthetic darknet day's agm-num table, or Gaussian blobs without duplicate rows")
ap.add_argument("--fresh", action="store_true", help="run scikit-learn again even when its result is cached")
args = ap.parse_args()
here = os.path.dirname(os.path.abspath(__file__))
os.makedirs(args.work, exist_ok=True)


def timed(cmd, timeout=None, memory_cap=None, refusal=False):
    """(wall seconds, peak MiB, stdout), "timeout", or "memory" when the run
    passed the address-space cap (GiB)."""
    t = time.perf_counter()
    cap = ["prlimit", f"--as={memory_cap << 30}"] if memory_cap else []
    # Its own process group, so that a timeout stops the whole tree.
    p = subprocess.Popen(cap + ["/usr/bin/time", "-f", "%M"] + cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        return "timeout"
    if p.returncode != 0:
        if memory_cap and ("MemoryError" in err or "Unable to allocate" in err or "bad_alloc" in err):
            return "memory"
        if refusal and p.returncode == 2:  # darklens refused the parameters: its message
            return "refused: " + err.strip().splitlines()[0]
        sys.exit(f"failed: {' '.join(cmd)}: {err}")
    return time.perf_counter() - t, int(err.strip().splitlines()[-1]) / 1024, out


def blobs(n):
    path = os.path.join(args.work, f"blobs-{n}-z29.npy")
    if not os.path.exists(path):
        from sklearn.datasets import make_blobs
        X, _ = make_blobs(n_samples=n, n_features=29, centers=8, cluster_std=2.0, random_state=1)
        Z = StandardScaler().fit_transform(X)
        assert len(numpy.unique(Z, axis=0)) == n, "blobs with duplicate rows"
        numpy.save(path, numpy.asfortranarray(Z))
    return [("blobs 29", path)]


def matrices(n):
    if args.data == "blobs":
        return blobs(n)
    base = os.path.join(args.work, f"day-{n}")
    z29, z3 = base + "-z29.npy", base + "-z3.npy"
    if not os.path.exists(z3):
        subprocess.run([args.darklens, "synth", "--days", "1", "--sources", str(n), "--seed", "1", "-o", base, "-q"],
                       check=True)
        pcap = [os.path.join(base, f) for f in os.listdir(base) if f.endswith(".pcap")][0]
        subprocess.run([args.darklens, "features", "--family", "agm-num", "-q", pcap, "-o", base + "-raw.npy"],
                       check=True)
        Z = StandardScaler().fit_transform(numpy.load(base + "-raw.npy"))
        numpy.save(z29, numpy.asfortranarray(Z))
        numpy.save(z3, numpy.asfortranarray(PCA(n_components=3, svd_solver="full").fit_transform(Z)))
    return [("29 cols", z29), ("PCA-3", z3)]


def darklens(path, spec):
    out = os.path.join(args.work, "out")
    r = timed([args.darklens, "cluster", "-q", "-t", "2", "--pipeline", spec, path, "-o", out], timeout=args.timeout,
              refusal=True)
    if isinstance(r, str):
        return r
    labels = numpy.loadtxt(os.path.join(out, "labels.csv"), delimiter=",", skiprows=1, dtype=numpy.int64)[:, 1]
    return r[0], r[1], labels, json.load(open(os.path.join(out, "summary.json")))


def sklearn(path, algo, params):
    """scikit-learn's run, cached by (matrix, algorithm, parameters) so that a
    re-run after a darklens change does not wait for it again (--fresh)."""
    key = hashlib.sha1(json.dumps([os.path.abspath(path), os.path.getmtime(path), algo, params,
                                   args.timeout, args.memory_cap]).encode()).hexdigest()[:16]
    cache = os.path.join(args.work, "sklearn-cache")
    os.makedirs(cache, exist_ok=True)
    meta, out = os.path.join(cache, key + ".json"), os.path.join(cache, key + ".npy")
    if not args.fresh and os.path.exists(meta):
        r = json.load(open(meta))
    else:
        t = timed(["/usr/bin/python3", os.path.join(here, "sklearn_cluster.py"), path, algo, json.dumps(params), out],
                  timeout=args.timeout, memory_cap=args.memory_cap)
        r = t if isinstance(t, str) else {"wall": t[0], "mib": t[1], "out": json.loads(t[2])}
        json.dump(r, open(meta, "w"))
    if isinstance(r, str):
        return r
    return r["out"]["seconds"], r["mib"], numpy.load(out), r["out"]


rows = []
only = set(a for a in args.only.split(",") if a)
for n in [int(s) for s in args.sizes.split(",")]:
    for shape, path in matrices(n):
        X = numpy.load(path)
        distinct = len(numpy.unique(X, axis=0))
        print(f"# {n} x {X.shape[1]} ({shape}): {distinct} distinct rows", flush=True)
        # The heuristics' choices, made once by darklens, given to both.
        _, _, _, auto_db = darklens(path, "dbscan:eps=auto,min_samples=5")
        eps = auto_db["parameters"]["eps"]
        _, _, _, auto_ms = darklens(path, "meanshift:bandwidth=auto,bin_seeding=1")
        bw = auto_ms["parameters"]["bandwidth"]
        cases = [
            ("kmeans", "kmeans:k=8,n_init=10", {"k": 8, "n_init": 10}),
            ("dbscan", f"dbscan:eps={eps!r},min_samples=5", {"eps": eps, "min_samples": 5}),
            ("meanshift (bin seeds)", f"meanshift:bandwidth={bw!r},bin_seeding=1", {"bandwidth": bw, "bin_seeding": True}),
            ("meanshift (all rows)", f"meanshift:bandwidth={bw!r}", {"bandwidth": bw, "bin_seeding": False}),
        ] + [(f"hac {l}", f"hac:linkage={l},k=8", {"k": 8, "linkage": l})
             for l in ["ward", "single", "average", "complete"]]
        for name, spec, params in cases:
            if only and name.split()[0] not in only:
                continue
            algo = name.split()[0]
            d = darklens(path, spec)
            if isinstance(d, str) and d.startswith("refused"):
                rows.append((n, shape, name, None, None, None, None, None, "darklens " + d))
                print(rows[-1], flush=True)
                continue
            if d == "timeout":
                sk = sklearn(path, algo, params)
                both = "scikit-learn too" if sk == "timeout" else "scikit-learn " + (
                    f"{sk[0]:.2f} s" if isinstance(sk, tuple) else f"ran out of its {args.memory_cap} GiB")
                rows.append((n, shape, name, None, None, None, None, None,
                             f"darklens still running after {args.timeout} s; {both}"))
                print(rows[-1], flush=True)
                continue
            dw, dm, dl, ds = d
            note = ""
            quadratic = algo == "hac" and params["linkage"] != "single"
            need = n * (n - 1) / 2 * 8 / 2**30
            if quadratic and need > 12:
                sk = None
                note = f"scikit-learn needs {need:.0f} GiB of distances: not run"
            else:
                sk = sklearn(path, "hac" if algo == "hac" else algo, params)
                if sk == "timeout":
                    note = f"scikit-learn still running after {args.timeout} s"
                elif sk == "memory":
                    note = f"scikit-learn ran out of its {args.memory_cap} GiB"
            if isinstance(sk, tuple):
                sw, sm, sl, extra = sk
                same = adjusted_rand_score(sl, dl)
                note = f"ARI {same:.6f}"
                if algo == "dbscan":
                    note += ", same noise" if numpy.array_equal(sl == -1, dl == -1) else ", NOISE DIFFERS"
                if algo == "kmeans":
                    note += f", inertia {ds['inertia'] / extra['inertia']:.4f} x scikit-learn's"
                rows.append((n, shape, name, dw, dm, sw, sm, sw / dw, note))
            else:
                sk = None
                rows.append((n, shape, name, dw, dm, None, None, None, note))
            r = rows[-1]
            print(f"{r[0]:>7} {r[1]:<8} {r[2]:<22} darklens {r[3]:7.2f} s {r[4]:7.0f} MiB | scikit-learn "
                  + (f"{r[5]:8.2f} s {r[6]:7.0f} MiB | {r[7]:6.1f}x" if r[5] else "        -") + f" | {r[8]}",
                  flush=True)

print("\n| rows | matrix | algorithm | darklens s | darklens MiB | scikit-learn s | scikit-learn MiB | ratio | result |")
print("|---|---|---|---|---|---|---|---|---|")
for r in rows:
    if r[3] is None:
        print(f"| {r[0]:,} | {r[1]} | {r[2]} | — | — | — | — | — | {r[8]} |")
        continue
    sk = f"{r[5]:.2f} | {r[6]:.0f} | {r[7]:.1f}×" if r[5] else "— | — | —"
    print(f"| {r[0]:,} | {r[1]} | {r[2]} | {r[3]:.2f} | {r[4]:.0f} | {sk} | {r[8]} |")
