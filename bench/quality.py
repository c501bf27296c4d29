#!/usr/bin/python3
"""Quality of clustering pipelines on synthetic days: for each profile
(planted, telescope) and seed, one synthetic day; `darklens analyze` with
each pipeline (and `--min-class 5`); prints one Markdown row per run: the
clusters found, AMI against the labelled groups, leave-one-out 1-NN
accuracy and macro-F1 in the embedding, seconds and peak memory.

    bench/quality.py DARKLENS [--sources 20000] [--seeds 1,2] [--pipeline SPEC ...]
                     [--categories indicators] [--profiles planted,telescope]
                     [--family LIST ...] [--days N --window LENGTH]

With --days N, N synthetic days are analysed together in windows of
--window (e.g. --days 2 --window 2d: one window of two days, as an
embedding over days of co-occurrence sees them). Each --family list is one
more set of rows.

Figures go to docs/analyze.md ("The default pipeline")."""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ap = argparse.ArgumentParser()
ap.add_argument("darklens")
ap.add_argument("--sources", type=int, default=20000)
ap.add_argument("--seeds", default="1,2")
ap.add_argument("--profiles", default="planted,telescope")
ap.add_argument("--pipeline", action="append")
ap.add_argument("--categories", default="indicators")
ap.add_argument("--family", action="append")
ap.add_argument("--days", type=int, default=1)
ap.add_argument("--window", default="24h")
args = ap.parse_args()
pipelines = args.pipeline or ["log1p|zscore|pca:10|kmeans:k=auto"]

families = args.family or [None]
print("| profile | seed | days | window | families | pipeline | clusters | AMI | 1-NN | macro-F1 | seconds | peak MiB |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
with tempfile.TemporaryDirectory() as tmp:
    for profile in args.profiles.split(","):
        for seed in args.seeds.split(","):
            days = os.path.join(tmp, f"{profile}-{seed}")
            subprocess.run([args.darklens, "synth", "--profile", profile, "--sources", str(args.sources), "--seed",
                            seed, "--days", str(args.days), "-q", "-o", days], check=True)
            captures = sorted(os.path.join(days, f) for f in os.listdir(days) if f.endswith(".pcap"))
            for spec, family in [(p, f) for f in families for p in pipelines]:
                out = os.path.join(tmp, "out")
                cmd = ["/usr/bin/time", "-f", "%M", args.darklens, "analyze", *captures, "--gt",
                       os.path.join(days, "ground_truth.csv"), "--min-class", "5", "--pipeline", spec,
                       "--categories", args.categories, "--window", args.window, "-q", "-o", out]
                if family:
                    cmd += ["--family", family]
                t0 = time.time()
                r = subprocess.run(cmd, capture_output=True, text=True)
                secs = time.time() - t0
                if r.returncode != 0:
                    print(f"| {profile} | {seed} | {args.days} | {args.window} | {family or 'default'} | `{spec}` "
                          f"| failed: {r.stderr.strip()[-200:]} |||||")
                    continue
                peak = int(r.stderr.strip().splitlines()[-1]) / 1024
                s = json.load(open(os.path.join(out, "summary.json")))
                e, c = s["evaluation"], s["clustering"]
                print(f"| {profile} | {seed} | {args.days} | {args.window} | {family or 'default'} | `{spec}` "
                      f"| {c['clusters']} | {e['ami']:.3f} | {e['knn_accuracy']:.3f} "
                      f"| {e['knn_macro_f1']:.3f} | {secs:.1f} | {peak:.0f} |", flush=True)
