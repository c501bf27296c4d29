#!/usr/bin/python3
"""How k=auto's rules choose, against the truth: for each profile
(planted, telescope) and seed, one synthetic day; `darklens analyze` with
the default pipeline (its summary holds every candidate k's silhouette,
silhouette over the large clusters, stability and smallest cluster); then
`darklens cluster` with each fixed k on the same feature table, and the AMI
of each k against the planted groups (labelled sources of classes with at
least 5 members, as `analyze --min-class 5`), by scikit-learn. Prints, per
day, the curves with the AMI of each k, and per rule the k it picks and
that k's AMI; the curves go to bench/results/k_selection.json.

    bench/k_selection.py DARKLENS [--sources 20000] [--seeds 1,2,3]
                         [--profiles planted,telescope] [--kmax 20]

Figures go to docs/analyze.md ("Choosing k")."""
import argparse
import csv
import json
import os
import subprocess
import tempfile

from sklearn.metrics import adjusted_mutual_info_score

ap = argparse.ArgumentParser()
ap.add_argument("darklens")
ap.add_argument("--sources", type=int, default=20000)
ap.add_argument("--seeds", default="1,2,3")
ap.add_argument("--profiles", default="planted,telescope")
ap.add_argument("--kmax", type=int, default=20)
args = ap.parse_args()
base = "log1p|zscore|pca:20|kmeans:"


def ami_of(labels_csv, truth):
    t, p = [], []
    with open(labels_csv) as f:
        for row in csv.DictReader(f):
            if row["source"] in truth:
                t.append(truth[row["source"]])
                p.append(row["cluster"])
    return adjusted_mutual_info_score(t, p)


def pick(curve, rule):
    """The candidate a rule keeps."""
    ok = [c for c in curve if c["silhouette"] is not None]
    if rule == "silhouette":
        return max(ok, key=lambda c: c["silhouette"])
    large = [c for c in ok if c.get("silhouette_large") is not None]
    values = sorted(c["stability"] for c in large)
    if rule == "stable half (default)":  # at least the median stability
        eligible = [c for c in large if c["stability"] >= values[len(values) // 2]]
    elif rule == "stability >= 0.8":
        eligible = [c for c in large if c["stability"] >= 0.8] or [max(large, key=lambda c: c["stability"])]
    elif rule == "within 0.1 of the most stable":
        eligible = [c for c in large if c["stability"] >= values[-1] - 0.1]
    elif rule == "silhouette x stability":
        return max(large, key=lambda c: c["silhouette_large"] * c["stability"])
    else:
        raise ValueError(rule)
    return max(eligible, key=lambda c: c["silhouette_large"])


rules = ["silhouette", "stable half (default)", "stability >= 0.8", "within 0.1 of the most stable",
         "silhouette x stability"]
results = []
with tempfile.TemporaryDirectory() as tmp:
    for profile in args.profiles.split(","):
        for seed in args.seeds.split(","):
            days = os.path.join(tmp, f"{profile}-{seed}")
            subprocess.run([args.darklens, "synth", "--profile", profile, "--sources", str(args.sources), "--seed",
                            seed, "-q", "-o", days], check=True)
            gt = os.path.join(days, "ground_truth.csv")
            out = os.path.join(tmp, "out")
            subprocess.run([args.darklens, "analyze", os.path.join(days, "darknet-2021-05-01.pcap"), "--gt", gt,
                            "--min-class", "5", "--pipeline", base + f"k=auto,kmax={args.kmax}", "-q", "-o", out],
                           check=True)
            summary = json.load(open(os.path.join(out, "summary.json")))
            curve = summary["clustering"]["choice"]["candidates"]
            with open(gt) as f:
                truth = {r[0]: r[1] for r in csv.reader(f)}
            sources = set()
            with open(os.path.join(out, "features.csv")) as f:
                for row in csv.DictReader(f):
                    sources.add(row["source"])
            counts = {}
            for s in sources:
                if s in truth:
                    counts[truth[s]] = counts.get(truth[s], 0) + 1
            truth = {s: c for s, c in truth.items() if s in sources and counts[c] >= 5}
            for c in curve:
                k_out = os.path.join(tmp, "k")
                subprocess.run([args.darklens, "cluster", "--pipeline", base + f"k={c['k']}", "-q",
                                os.path.join(out, "features.csv"), "-o", k_out], check=True)
                c["ami"] = ami_of(os.path.join(k_out, "labels.csv"), truth)
            print(f"\n{profile} seed {seed}: chosen k {summary['clustering']['clusters']}, "
                  f"AMI {summary['evaluation']['ami']:.3f}")
            print("| k | silhouette | silhouette_large | stability | smallest | AMI |")
            print("|---|---|---|---|---|---|")
            for c in curve:
                fmt = lambda v: "—" if v is None else f"{v:.3f}"
                print(f"| {c['k']} | {fmt(c['silhouette'])} | {fmt(c.get('silhouette_large'))} | "
                      f"{fmt(c.get('stability'))} | {c.get('smallest')} | {c['ami']:.3f} |")
            best = max(c["ami"] for c in curve)
            row = {"profile": profile, "seed": seed, "best_ami": best, "curve": curve}
            for r in rules:
                c = pick(curve, r)
                row[r] = (c["k"], c["ami"])
            results.append(row)

print("\n| profile | seed | best AMI of any k | " + " | ".join(rules) + " |")
print("|---|---|---|" + "---|" * len(rules))
for row in results:
    print(f"| {row['profile']} | {row['seed']} | {row['best_ami']:.3f} | " +
          " | ".join(f"k={row[r][0]}: {row[r][1]:.3f}" for r in rules) + " |")
print("| mean | | {:.3f} | ".format(sum(r["best_ami"] for r in results) / len(results)) +
      " | ".join(f"{sum(row[r][1] for row in results) / len(results):.3f}" for r in rules) + " |")
os.makedirs(os.path.join(os.path.dirname(__file__), "results"), exist_ok=True)
with open(os.path.join(os.path.dirname(__file__), "results", "k_selection.json"), "w") as f:
    json.dump(results, f, indent=1)
