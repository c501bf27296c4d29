#!/usr/bin/python3
"""Speed of darklens' exact silhouette and leave-one-out 1-NN against
scikit-learn 1.2 (silhouette_score; NearestNeighbors(n_neighbors=2)) on the
same standardized matrices: the synthetic days of bench/cluster_vs_sklearn.py
(33,000 and 101,000 sources, 29 agm-num columns; run that first), labels
from k-means (k = 8), ground truth from darklens synth. Prints both times,
the ratio and whether the values agree.

darklens' figures are the algorithm's own (the "seconds" of `darklens
evaluate --json`, 2 threads), scikit-learn's the call alone (its threads).

usage: bench/evaluate_vs_sklearn.py [--darklens BIN] [--sizes 33000,101000]
"""
import argparse
import csv
import json
import os
import subprocess
import time

import numpy
from sklearn.metrics import silhouette_score
from sklearn.neighbors import NearestNeighbors
from sklearn.preprocessing import StandardScaler

ap = argparse.ArgumentParser()
ap.add_argument("--darklens", default="build/release/bin/darklens")
ap.add_argument("--work", default="bench/results/cluster")
ap.add_argument("--sizes", default="33000,101000")
args = ap.parse_args()

print("| rows | what | darklens s | scikit-learn s | ratio | values |")
print("|---|---|---|---|---|---|")
for n in [int(s) for s in args.sizes.split(",")]:
    base = os.path.join(args.work, f"day-{n}")
    raw = base + "-raw.npy"
    if not os.path.exists(raw):
        raise SystemExit(f"{raw} missing: run bench/cluster_vs_sklearn.py first")
    out = os.path.join(args.work, f"eval-{n}")
    subprocess.run([args.darklens, "cluster", "-q", "-t", "2", "--pipeline", "zscore|kmeans:k=8,seed=1", raw,
                    "-o", out], check=True)
    gt = os.path.join(base, "ground_truth.csv")
    r = subprocess.run([args.darklens, "evaluate", "--json", "-t", "2", "--gt", gt, "--labels",
                        os.path.join(out, "labels.csv"), raw], check=True, capture_output=True, text=True)
    ours = json.loads(r.stdout)
    # scikit-learn on the same standardized matrix and labels.
    Z = StandardScaler().fit_transform(numpy.load(raw))
    labels = numpy.array([int(row["cluster"]) for row in csv.DictReader(open(os.path.join(out, "labels.csv")))])
    t = time.perf_counter()
    sil = silhouette_score(Z, labels)
    sil_s = time.perf_counter() - t
    keys = [row["source"] for row in csv.DictReader(open(raw[:-4] + ".rows.csv"))]
    truth_of = {row["ip"]: row["label"] for row in csv.DictReader(open(gt))}
    truth = [truth_of.get(k) for k in keys]
    t = time.perf_counter()
    _, ind = NearestNeighbors(n_neighbors=2).fit(Z).kneighbors(Z)
    nn_s = time.perf_counter() - t
    # Leave-one-out 1-NN over all rows: the nearest other row's label
    # (copies make the choice among equally near rows scikit-learn's own).
    hits = total = 0
    for i, t_i in enumerate(truth):
        if t_i is None:
            continue
        j = ind[i, 1] if ind[i, 0] == i else ind[i, 0]
        total += 1
        hits += truth[j] == t_i
    acc = hits / total
    ds, dk = ours["clusters"]["silhouette_seconds"], ours["knn"]["seconds"]
    same_sil = abs(ours["clusters"]["silhouette"] - sil) <= 1e-9
    print(f"| {n:,} | exact silhouette | {ds:.2f} | {sil_s:.2f} | {sil_s / ds:.1f}× | "
          f"{'equal' if same_sil else 'DIFFER'} ({ours['clusters']['silhouette']:.12f} vs {sil:.12f}) |", flush=True)
    print(f"| {n:,} | leave-one-out 1-NN | {dk:.2f} | {nn_s:.2f} | {nn_s / dk:.1f}× | "
          f"accuracy {ours['knn']['accuracy']:.4f} vs {acc:.4f} (ties among copies broken differently) |", flush=True)
