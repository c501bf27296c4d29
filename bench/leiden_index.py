#!/usr/bin/python3
"""The kNN graph of `leiden`: exact (kd-tree) against approximate (HNSW)
neighbours, on DarkVec-style embeddings (`darklens embed`, 50 dimensions)
of a synthetic telescope day and on its feature rows after pca:10: wall
seconds of `darklens cluster`, communities, AMI against the planted groups
(classes of at least 5 labelled sources) and AMI between the two
partitions. Prints Markdown rows; figures go to docs/cluster.md and
docs/performance.md ("The kNN graph: exact or HNSW").

    bench/leiden_index.py DARKLENS [--sources 20000,100000] [--seed 1]
"""
import argparse
import csv
import json
import os
import subprocess
import tempfile
import time

from sklearn.metrics import adjusted_mutual_info_score as ami

ap = argparse.ArgumentParser()
ap.add_argument("darklens")
ap.add_argument("--sources", default="20000,100000")
ap.add_argument("--seed", default="1")
args = ap.parse_args()


def labels(path):
    with open(path) as f:
        return {r["source"]: r["cluster"] for r in csv.DictReader(f)}


print("| sources | table | index | seconds | communities | AMI vs planted | AMI exact vs hnsw |")
print("|---|---|---|---|---|---|---|")
with tempfile.TemporaryDirectory() as tmp:
    for n in args.sources.split(","):
        day = os.path.join(tmp, f"d{n}")
        subprocess.run([args.darklens, "synth", "--profile", "telescope", "--sources", n, "--seed", args.seed, "-q",
                        "-o", day], check=True)
        pcap = os.path.join(day, "darknet-2021-05-01.pcap")
        with open(os.path.join(day, "ground_truth.csv")) as f:
            truth = {r[0]: r[1] for r in csv.reader(f)}
        emb = os.path.join(tmp, f"emb{n}.csv")
        subprocess.run([args.darklens, "embed", pcap, "-q", "-o", emb], check=True)
        feat = os.path.join(tmp, f"feat{n}.csv")
        subprocess.run([args.darklens, "features", "--family", "agm,intensity,fingerprints", pcap, "-q", "-o", feat],
                       check=True)
        for table, path, spec, cats in [("embedding (50 dims)", emb, "leiden", "numbers"),
                                        ("features, pca:10", feat, "log1p|zscore|pca:10|leiden", "indicators")]:
            got = {}
            for index in ["exact", "hnsw"]:
                out = os.path.join(tmp, f"c{n}{index}")
                t0 = time.time()
                subprocess.run([args.darklens, "cluster", "--categories", cats, "--pipeline",
                                f"{spec}:index={index}", path, "-q", "-o", out], check=True)
                secs = time.time() - t0
                got[index] = labels(os.path.join(out, "labels.csv"))
                counts = {}
                for s in got[index]:
                    if s in truth:
                        counts[truth[s]] = counts.get(truth[s], 0) + 1
                keep = [s for s in got[index] if s in truth and counts[truth[s]] >= 5]
                clusters = json.load(open(os.path.join(out, "summary.json")))["clusters"]
                score = ami([truth[s] for s in keep], [got[index][s] for s in keep])
                both = "" if index == "exact" else \
                    f"{ami([got['exact'][s] for s in got['exact']], [got['hnsw'][s] for s in got['exact']]):.3f}"
                print(f"| {n} | {table} | {index} | {secs:.1f} | {clusters} | {score:.3f} | {both} |", flush=True)
